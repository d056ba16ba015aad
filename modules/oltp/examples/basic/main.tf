# The shop's OLTP database host as the platform composes it: its own data-tier subnets (apart
# from the analytics tier), S3 Gateway and SSM interface endpoints, the artifacts bucket with
# the OLTP bundle, and a stand-in security group for the shop's application tier. The AMI id
# is passed directly: the SSM public parameter does not exist in the emulator (real
# environments leave ami.id null and use the parameter).
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
  default     = "clickstream-oltp"
}

variable "region" {
  description = "Region of the provider and the endpoints."
  type        = string
  default     = "us-east-1"
}

variable "ami_id" {
  description = "Amazon Linux 2023 AMI id (any id in the emulator)."
  type        = string
  default     = "ami-0123456789abcdef0"
}

variable "bundle" {
  description = "The OLTP bundle, `{ path, sha256 }` (hex SHA-256 of the file). Null: build/hosts/oltp.tar.gz of this repository with the hash in oltp.tar.gz.sha256, as `make host-bundle` writes them."
  type = object({
    path   = string
    sha256 = string
  })
  default = null
  validation {
    condition     = var.bundle != null || try(filesha256("${path.root}/../../../../build/hosts/oltp.tar.gz") == trimspace(file("${path.root}/../../../../build/hosts/oltp.tar.gz.sha256")), false)
    error_message = "No usable OLTP bundle: build/hosts/oltp.tar.gz is missing or does not match oltp.tar.gz.sha256. Run `make host-bundle`, or pass bundle = { path, sha256 }."
  }
  validation {
    condition     = var.bundle == null ? true : try(filesha256(var.bundle.path) == var.bundle.sha256, false)
    error_message = "bundle.sha256 is not the hex SHA-256 of the file at bundle.path."
  }
}

variable "detailed_monitoring" {
  description = "Detailed monitoring of the host; the emulator apply turns it off (moto lacks MonitorInstances)."
  type        = bool
  default     = true
}

variable "instance_type" {
  description = "Instance type of the OLTP host."
  type        = string
  default     = "t3.medium"
}

locals {
  tags   = { Project = "clickstream", Environment = "example" }
  bucket = "${var.name}-artifacts"
  built  = "${path.root}/../../../../build/hosts/oltp.tar.gz"
  bundle = var.bundle != null ? var.bundle : { path = abspath(local.built), sha256 = trimspace(file("${local.built}.sha256")) }
  # The bundle is stored under a key that names its content (docs/hosts.md).
  bundle_key = "oltp/bundles/oltp-${local.bundle.sha256}.tar.gz"
}

module "network" {
  source             = "../../../network"
  name               = var.name
  vpc_cidr           = "10.31.0.0/16"
  availability_zones = ["${var.region}a", "${var.region}b"]
  subnets            = { public_tier = false, data_tier = true }
  flow_logs          = { enabled = false }
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
  bucket_arns     = ["arn:aws:s3:::${local.bucket}"]
  tags            = local.tags
}

module "artifacts" {
  source        = "../../../artifacts"
  bucket_name   = local.bucket
  artifacts     = { (local.bundle_key) = { source = local.bundle.path, content_type = "application/gzip" } }
  force_destroy = true
  tags          = local.tags
}

# Stand-in for the shop application tier's security group.
resource "aws_security_group" "app" {
  # checkov:skip=CKV2_AWS_5: stand-in for a group another module attaches to its Lambda/app tier.
  name_prefix = "${var.name}-app-"
  description = "Stand-in for the shop application tier security group"
  vpc_id      = module.network.vpc_id
  tags        = local.tags
}

module "oltp" {
  #checkov:skip=CKV_AWS_189,CKV_AWS_337:The data volume (kms_key_id) and the password parameter (key_id) use the OLTP host's own customer managed key (modules/postgres_host), whose ARN is unknown until apply, so this plan has no value to check. tests/plan/test_oltp.py (test_volumes_and_password_use_the_module_key) asserts from the plan's configuration that both reference that key.
  source                      = "../.."
  name                        = var.name
  vpc_id                      = module.network.vpc_id
  subnet_id                   = module.network.data_subnet_ids[0]
  availability_zone           = module.network.availability_zones[0]
  ami                         = { id = var.ami_id }
  instance_type               = var.instance_type
  detailed_monitoring         = var.detailed_monitoring
  client_security_groups      = { app = aws_security_group.app.id }
  s3_prefix_list_id           = module.endpoints.s3_prefix_list_id
  endpoints_security_group_id = module.endpoints.security_group_id
  bundle = {
    bucket_name = module.artifacts.bucket_name
    bucket_arn  = module.artifacts.bucket_arn
    kms_key_arn = module.artifacts.kms_key_arn
    key         = local.bundle_key
    sha256      = local.bundle.sha256
  }
  tags = local.tags
}

output "oltp" {
  description = "Every output of the oltp module."
  value       = module.oltp
}

output "artifacts" {
  description = "Every output of the artifacts module."
  value       = module.artifacts
}

output "app_security_group_id" {
  description = "The stand-in application security group admitted on 5432."
  value       = aws_security_group.app.id
}
