# The shop's OLTP database host as the platform composes it: its own data-tier subnets (apart
# from the analytics tier), S3 Gateway and SSM interface endpoints, the artifacts bucket, and a
# stand-in security group for the shop's application tier. The AMI id is passed directly: the SSM public parameter does not exist in the
# emulator (real environments leave ami.id null and use the parameter).
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

variable "artifacts" {
  description = "Files uploaded to the artifacts bucket, {key => {source}}; the tests pass the sql/oltp migrations (absolute paths, since runs happen in a copy of the tree)."
  type = map(object({
    source       = string
    content_type = optional(string, "application/octet-stream")
  }))
  default = {}
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
  artifacts     = var.artifacts
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
  #checkov:skip=CKV_AWS_189,CKV_AWS_337:The data volume (kms_key_id) and the password parameter (key_id) use the oltp module's own customer managed key, whose ARN is unknown until apply, so this plan has no value to check. tests/plan/test_oltp.py (test_volumes_and_password_use_the_module_key) asserts from the plan's configuration that both reference that key.
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
  artifacts = {
    bucket_name = module.artifacts.bucket_name
    bucket_arn  = module.artifacts.bucket_arn
    kms_key_arn = module.artifacts.kms_key_arn
    prefix      = "oltp/"
    revision    = sha256(jsonencode(module.artifacts.content_hashes))
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
