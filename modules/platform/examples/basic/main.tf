# The whole platform in one call, as an env composes it, without a front end (frontend =
# null: nothing to create beforehand) and with alarms on. Plans on its own with the
# terraform.tfvars beside it after `make build` and `make host-bundle`:
#   terraform init && terraform plan
# (tests/plan/test_platform.py plans it against the emulator with the builds it makes).
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
  region = var.region
  default_tags {
    tags = { Project = "clickstream", Environment = "example", ManagedBy = "terraform" }
  }
}

variable "region" {
  description = "Region of the provider."
  type        = string
}

variable "name" {
  description = "modules/platform name."
  type        = string
}

variable "availability_zones" {
  description = "modules/platform network.availability_zones."
  type        = list(string)
}

variable "shop_origins" {
  description = "modules/platform shop_origins."
  type        = list(string)
}

variable "sizes" {
  description = "modules/platform sizes (attributes left out keep the platform's defaults)."
  type        = any
  default     = null
}

variable "retention" {
  description = "modules/platform retention."
  type        = any
  default     = null
}

variable "alarms" {
  description = "modules/platform alarms."
  type        = any
  default     = null
}

variable "emulator" {
  description = "modules/platform emulator."
  type        = bool
  default     = false
}

variable "frontend" {
  description = "modules/platform frontend (null: no front end)."
  type        = any
  default     = null
}

variable "network" {
  description = "Extra modules/platform network attributes (vpc_cidr); availability_zones is its own variable."
  type        = any
  default     = {}
}

variable "lambda_reserved_concurrency" {
  description = "modules/platform lambda_reserved_concurrency."
  type        = any
  default     = null
}

variable "ingest_package_path" {
  description = "Ingest zip; null: build/lambda/ingest.zip."
  type        = string
  default     = null
}

variable "ingest_package_hash" {
  description = "Its base64 SHA-256; null: read beside the zip."
  type        = string
  default     = null
}

variable "etl_package_path" {
  description = "ETL zip; null: build/lambda/etl.zip."
  type        = string
  default     = null
}

variable "etl_package_hash" {
  description = "Its base64 SHA-256; null: read beside the zip."
  type        = string
  default     = null
}

variable "batcher_package_path" {
  description = "Batcher zip; null: build/lambda/batcher.zip."
  type        = string
  default     = null
}

variable "batcher_package_hash" {
  description = "Its base64 SHA-256; null: read beside the zip."
  type        = string
  default     = null
}

variable "host_bundles" {
  description = "modules/platform host_bundles; null: build/hosts (`make host-bundle`)."
  type        = any
  default     = null
}

module "platform" {
  source   = "../.."
  name     = var.name
  emulator = var.emulator
  network  = merge(var.network, { availability_zones = var.availability_zones })
  packages = {
    ingest  = { path = var.ingest_package_path, hash = var.ingest_package_hash }
    etl     = { path = var.etl_package_path, hash = var.etl_package_hash }
    batcher = { path = var.batcher_package_path, hash = var.batcher_package_hash }
  }
  host_bundles                = var.host_bundles
  shop_origins                = var.shop_origins
  sizes                       = var.sizes
  retention                   = var.retention
  alarms                      = var.alarms
  frontend                    = var.frontend
  lambda_reserved_concurrency = var.lambda_reserved_concurrency
}

output "events_url" {
  description = "URL the tracker posts to."
  value       = module.platform.events_url
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.platform.alarm_topic_arn
}

output "etl_role_name" {
  description = "ETL execution role (for grants added outside the platform)."
  value       = module.platform.etl_role_name
}
