# modules/internal/lambda_function on its own: one function with its role and encrypted log
# group; terraform.tfvars makes it a scheduled, VPC-placed function with a failure queue (the
# shape modules/etl builds), and the plan tests pass vpc = null and failures = null for the
# API-fronted shape of modules/ingest, and hostile values on top. The zip comes from the test.
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
}

variable "region" {
  description = "Region of the provider."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Function name (see the module's variable)."
  type        = string
}

variable "package_path" {
  description = "Path of the function's zip."
  type        = string
}

variable "package_hash" {
  description = "Base64 SHA-256 of the zip."
  type        = string
}

variable "handler" {
  description = "Entry point of the function."
  type        = string
}

variable "settings" {
  description = "Passed to the module as it is (its own type and validations apply)."
  type        = any
  default     = {}
}

variable "environment" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
}

variable "vpc" {
  description = "Subnets and security groups, or null (see the module's variable)."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null
}

variable "failures" {
  description = "Failure queue settings, or null (see the module's variable)."
  type        = any
  default     = null
}

variable "log" {
  description = "Log group retention and key (see the module's variable)."
  type = object({
    retention_days = number
    kms_key_arn    = string
  })
}

variable "role" {
  description = "Role description and policy prefix (see the module's variable)."
  type = object({
    description   = string
    policy_prefix = string
  })
}

module "function" {
  source      = "../.."
  name        = var.name
  description = "Example function of modules/internal/lambda_function"
  package     = { path = var.package_path, hash = var.package_hash }
  handler     = var.handler
  settings    = var.settings
  environment = var.environment
  vpc         = var.vpc
  failures    = var.failures
  log         = var.log
  role        = var.role
  tags        = { Example = "internal-lambda-function" }
}

output "function_name" {
  description = "Name of the function."
  value       = module.function.function_name
}

output "role_name" {
  description = "Name of the execution role."
  value       = module.function.role_name
}

output "log_group_name" {
  description = "Name of the function's log group."
  value       = module.function.log_group_name
}
