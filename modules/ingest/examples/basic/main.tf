# The ingest module as an environment uses it; the package comes from `make build`.
terraform {
  required_version = ">= 1.11.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100.0, < 6.0.0"
    }
  }
}

provider "aws" {
  region = "us-east-1"
}

variable "name" {
  description = "Name prefix passed to the module."
  type        = string
  default     = "clickstream-dev"
}

variable "package_path" {
  description = "Path of the ingest zip (build/lambda/ingest.zip)."
  type        = string
}

variable "package_hash" {
  description = "Base64 SHA-256 of the zip (build/lambda/ingest.zip.b64sha256)."
  type        = string
}

variable "batcher_package_path" {
  description = "Path of the batcher zip (build/lambda/batcher.zip)."
  type        = string
}

variable "batcher_package_hash" {
  description = "Base64 SHA-256 of the batcher zip (build/lambda/batcher.zip.b64sha256)."
  type        = string
}

variable "buffer" {
  description = "The SQS buffer passed to the module (ingest -> queue -> batcher)."
  type        = any
  default     = {}
}

variable "alarm_actions" {
  description = "SNS topics the buffer's alarms notify."
  type        = list(string)
  default     = []
}

variable "cors_allow_origins" {
  description = "Shop origins allowed by CORS."
  type        = list(string)
  default     = ["https://shop.example.com"]
}

variable "allowed_app_ids" {
  description = "Accepted app ids."
  type        = list(string)
  default     = ["shop-web"]
}

variable "throttling" {
  description = "Stage throttling passed to the module."
  type        = any
  default     = {}
}

variable "lambda" {
  description = "Function settings passed to the module."
  type        = any
  default     = {}
}

variable "raw_lifecycle" {
  description = "Raw bucket lifecycle passed to the module."
  type        = any
  default     = {}
}

variable "log_retention_days" {
  description = "Function log retention passed to the module (null: the module's default)."
  type        = number
  default     = null
}

variable "access_log_retention_days" {
  description = "API access log retention passed to the module (null: the module's default)."
  type        = number
  default     = null
}

variable "force_destroy" {
  description = "Allow destroying non-empty buckets (tests only)."
  type        = bool
  default     = false
}

module "ingest" {
  source                    = "../.."
  name                      = var.name
  package_path              = var.package_path
  package_hash              = var.package_hash
  batcher_package_path      = var.batcher_package_path
  batcher_package_hash      = var.batcher_package_hash
  buffer                    = var.buffer
  alarm_actions             = var.alarm_actions
  allowed_app_ids           = var.allowed_app_ids
  cors_allow_origins        = var.cors_allow_origins
  throttling                = var.throttling
  lambda                    = var.lambda
  raw_lifecycle             = var.raw_lifecycle
  log_retention_days        = var.log_retention_days
  access_log_retention_days = var.access_log_retention_days
  force_destroy             = var.force_destroy
  tags                      = { Project = "clickstream", Environment = "example" }
}

output "ingest" {
  description = "Every output of the ingest module."
  value       = module.ingest
}
