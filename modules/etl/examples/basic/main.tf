# The ETL module as an environment composes it: in the private subnets of modules/network (no
# NAT Gateway, flow logs on), reaching S3 through the Gateway endpoint and SSM through the
# interface endpoints of modules/endpoints. What other modules own comes in as variables, the
# way an environment passes their outputs:
#   raw_bucket_name, raw_kms_key_arn  <- modules/ingest (raw_bucket_name, kms_key_arn)
#   warehouse                         <- modules/warehouse (security group, private address)
#                                        and the SSM parameter holding the ETL user's password,
#                                        with the key encrypting it
# The defaults are the names modules/ingest and modules/warehouse produce in the emulator's
# account, so the example plans on its own.
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

variable "name" {
  description = "Name prefix passed to every module."
  type        = string
  default     = "clickstream-dev"
}

variable "region" {
  description = "Region of the provider and of the endpoint service names."
  type        = string
  default     = "us-east-1"
}

variable "package_path" {
  description = "Path of the ETL zip (build/lambda/etl.zip)."
  type        = string
}

variable "package_hash" {
  description = "Base64 SHA-256 of the zip (build/lambda/etl.zip.b64sha256)."
  type        = string
}

variable "raw_bucket_name" {
  description = "Raw events bucket the ETL reads (modules/ingest output raw_bucket_name)."
  type        = string
  default     = "clickstream-dev-raw-123456789012"
}

variable "raw_kms_key_arn" {
  description = "KMS key encrypting the raw bucket (modules/ingest output kms_key_arn); the ETL role gets kms:Decrypt on it."
  type        = string
  default     = "arn:aws:kms:us-east-1:123456789012:key/0d9b7f5e-3c1a-4e8b-9f2d-6a5c4b3e2d10"
}

variable "warehouse" {
  description = "The warehouse the ETL loads: its security group (modules/warehouse output), private address, the name of the SSM SecureString with the ETL user's password, and optionally the SSM parameter with the host's CA certificate and an sslmode."
  type = object({
    security_group_id       = string
    host                    = string
    password_parameter_name = string
    password_kms_key_arn    = optional(string, "arn:aws:kms:us-east-1:123456789012:key/7c1e5a2b-9d3f-4b6a-8e0c-2f4d6b8a1c3e")
    ca_parameter_name       = optional(string)
    sslmode                 = optional(string)
  })
  default = {
    security_group_id       = "sg-0a1b2c3d4e5f60718"
    host                    = "dw.clickstream.internal"
    password_parameter_name = "/clickstream-dev/dw/etl-password"
  }
  nullable = false
}

variable "schedule_expression" {
  description = "Schedule passed to the module."
  type        = string
  default     = "rate(15 minutes)"
}

variable "lambda" {
  description = "Function settings passed to the module."
  type        = any
  default     = {}
}

variable "log_kms_key_arn" {
  description = "Key for the function's log group passed to the module (kms_key_arn); null lets the module create one."
  type        = string
  default     = null
}

data "aws_caller_identity" "current" {}

locals {
  tags = { Project = "clickstream", Environment = "example" }
}

module "network" {
  source             = "../../../network"
  name               = var.name
  vpc_cidr           = "10.42.0.0/16"
  availability_zones = ["${var.region}a", "${var.region}b"]
  subnets            = { public_tier = false }
  tags               = local.tags
}

module "endpoints" {
  source          = "../../../endpoints"
  name            = var.name
  region          = var.region
  vpc_id          = module.network.vpc_id
  vpc_cidr        = module.network.vpc_cidr
  route_table_ids = module.network.isolated_route_table_ids
  subnet_ids      = module.network.private_subnet_ids
  bucket_arns     = ["arn:aws:s3:::${var.raw_bucket_name}"]
  tags            = local.tags
}

module "etl" {
  source       = "../.."
  name         = var.name
  package_path = var.package_path
  package_hash = var.package_hash
  vpc = {
    vpc_id                      = module.network.vpc_id
    subnet_ids                  = module.network.private_subnet_ids
    s3_prefix_list_id           = module.endpoints.s3_prefix_list_id
    endpoints_security_group_id = module.endpoints.security_group_id
  }
  warehouse = {
    security_group_id      = var.warehouse.security_group_id
    host                   = var.warehouse.host
    password_parameter_arn = "arn:aws:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter${var.warehouse.password_parameter_name}"
    password_kms_key_arn   = var.warehouse.password_kms_key_arn
    sslmode                = var.warehouse.sslmode
    ca_parameter_name      = var.warehouse.ca_parameter_name
    ca_parameter_arn       = var.warehouse.ca_parameter_name == null ? null : "arn:aws:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter${var.warehouse.ca_parameter_name}"
  }
  raw = {
    bucket_name = var.raw_bucket_name
    kms_key_arn = var.raw_kms_key_arn
  }
  schedule_expression = var.schedule_expression
  lambda              = var.lambda
  kms_key_arn         = var.log_kms_key_arn
  tags                = local.tags
}

output "function_name" {
  description = "ETL function name."
  value       = module.etl.function_name
}

output "security_group_id" {
  description = "ETL security group (the warehouse security group must admit 5432 from it)."
  value       = module.etl.security_group_id
}

output "role_name" {
  description = "ETL execution role name."
  value       = module.etl.role_name
}

output "log_kms_key_arn" {
  description = "KMS key of the function's log group (created by the module unless log_kms_key_arn is given)."
  value       = module.etl.log_kms_key_arn
}
