# A PostgreSQL host added to a VPC that already exists (its IDs passed in), before any client
# does: an OLTP host with no client security group, so it admits nothing on 5432 and is
# administered through Session Manager only. The artifacts bucket holds its bundle.
# The network must already have the S3 Gateway endpoint and the SSM interface endpoints
# (modules/endpoints). The AMI id is passed directly: the SSM public parameter does not exist
# in the emulator.
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
  description = "Name prefix passed to the module."
  type        = string
  default     = "clickstream-host"
}

variable "region" {
  description = "Region of the provider."
  type        = string
  default     = "us-east-1"
}

variable "vpc_id" {
  description = "Existing VPC."
  type        = string
}

variable "subnet_id" {
  description = "Existing private subnet (no internet route; S3 through the Gateway endpoint)."
  type        = string
}

variable "availability_zone" {
  description = "Zone of subnet_id."
  type        = string
}

variable "s3_prefix_list_id" {
  description = "S3 prefix list of the region (the Gateway endpoint's)."
  type        = string
}

variable "endpoints_security_group_id" {
  description = "Security group of the existing SSM interface endpoints."
  type        = string
}

variable "ami_id" {
  description = "Amazon Linux 2023 x86_64 AMI id (any id in the emulator)."
  type        = string
  default     = "ami-0123456789abcdef0"
}

variable "bundle" {
  description = "The OLTP bundle to boot, `{ path, sha256 }` (hex SHA-256 of the file): `make host-bundle` writes build/hosts/oltp.tar.gz and oltp.tar.gz.sha256."
  type = object({
    path   = string
    sha256 = string
  })
  nullable = false
  validation {
    condition     = try(filesha256(var.bundle.path) == var.bundle.sha256, false)
    error_message = "bundle.path must be an existing file and bundle.sha256 its hex SHA-256 (run `make host-bundle` for build/hosts/oltp.tar.gz)."
  }
}

locals {
  tags       = { Project = "clickstream", Environment = "example" }
  bundle_key = "oltp/bundles/oltp-${var.bundle.sha256}.tar.gz"
}

module "artifacts" {
  source        = "../../../artifacts"
  bucket_name   = "${var.name}-artifacts"
  artifacts     = { (local.bundle_key) = { source = var.bundle.path, content_type = "application/gzip" } }
  force_destroy = true
  tags          = local.tags
}

module "host" {
  #checkov:skip=CKV_AWS_189,CKV_AWS_337:The data volume (kms_key_id) and the password parameter (key_id) use the host's own customer managed key, whose ARN is unknown until apply, so this plan has no value to check. tests/plan/test_postgres_host.py (test_volumes_and_password_use_the_host_key) asserts from the plan's configuration that both reference that key.
  source                      = "../.."
  role                        = "oltp"
  name                        = var.name
  vpc_id                      = var.vpc_id
  subnet_id                   = var.subnet_id
  availability_zone           = var.availability_zone
  ami                         = { id = var.ami_id }
  instance_type               = "t3.medium"
  client_security_groups      = {} # nothing connects yet: no ingress rule at all
  s3_prefix_list_id           = var.s3_prefix_list_id
  endpoints_security_group_id = var.endpoints_security_group_id
  database                    = { name = "shop", admin_user = "shop_app" }
  bundle = {
    bucket_name   = module.artifacts.bucket_name
    bucket_arn    = module.artifacts.bucket_arn
    kms_key_arn   = module.artifacts.kms_key_arn
    key           = local.bundle_key
    sha256        = var.bundle.sha256
    backup_prefix = "backups/oltp/"
  }
  tags = local.tags
}

output "host" {
  description = "Every output of the host module."
  value       = module.host
}

output "artifacts" {
  description = "Every output of the artifacts module."
  value       = module.artifacts
}
