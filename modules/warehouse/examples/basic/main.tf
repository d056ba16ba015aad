# The warehouse host as the platform composes it: private network without NAT, S3 Gateway and
# SSM interface endpoints, the artifacts bucket holding the warehouse bundle, and a stand-in
# security group for the ETL Lambda. The AMI id is passed directly: the SSM public parameter
# does not exist in the emulator (real environments leave ami.id null and use the parameter).
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
  default     = "clickstream-ex"
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
  description = "The warehouse bundle: `path` of the tarball and `sha256`, its hex SHA-256. Null uses build/hosts/warehouse.tar.gz of this repository and the hash in warehouse.tar.gz.sha256 beside it (`make host-bundle`); the tests pass one of their own (they run a copy of the tree)."
  type = object({
    path   = string
    sha256 = string
  })
  default = null
  validation {
    condition     = var.bundle != null || try(filesha256("${path.root}/../../../../build/hosts/warehouse.tar.gz") == trimspace(file("${path.root}/../../../../build/hosts/warehouse.tar.gz.sha256")), false)
    error_message = "build/hosts/warehouse.tar.gz is missing, or its .sha256 does not match it: run `make host-bundle` (or pass bundle = { path, sha256 })."
  }
  validation {
    condition     = var.bundle == null ? true : try(filesha256(var.bundle.path) == var.bundle.sha256, false)
    error_message = "bundle.sha256 must be the hex SHA-256 of the file at bundle.path."
  }
}

variable "detailed_monitoring" {
  description = "Detailed monitoring of the host; the emulator apply turns it off (moto lacks MonitorInstances)."
  type        = bool
  default     = true
}

variable "instance_type" {
  description = "Instance type of the warehouse."
  type        = string
  default     = "t3.large"
}

locals {
  tags   = { Project = "clickstream", Environment = "example" }
  bucket = "${var.name}-artifacts"
  built  = "${path.root}/../../../../build/hosts/warehouse.tar.gz"
  bundle = var.bundle != null ? var.bundle : { path = abspath(local.built), sha256 = trimspace(file("${local.built}.sha256")) }
  # The key names the content: a new bundle is a new object, a new user data, a new instance.
  bundle_key = "dw/bundles/warehouse-${local.bundle.sha256}.tar.gz"
}

module "network" {
  source             = "../../../network"
  name               = var.name
  vpc_cidr           = "10.30.0.0/16"
  availability_zones = ["${var.region}a", "${var.region}b"]
  subnets            = { public_tier = false }
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

# Stand-in for the ETL Lambda's security group (modules/etl creates the real one).
resource "aws_security_group" "etl" {
  # checkov:skip=CKV2_AWS_5: stand-in for a group another module attaches to its Lambda/app tier.
  name_prefix = "${var.name}-etl-"
  description = "Stand-in for the ETL Lambda security group"
  vpc_id      = module.network.vpc_id
  tags        = local.tags
}

module "warehouse" {
  #checkov:skip=CKV_AWS_189,CKV_AWS_337:The data volume (kms_key_id) and the password parameter (key_id) use the host's own customer managed key (modules/postgres_host), whose ARN is unknown until apply, so this plan has no value to check. tests/plan/test_warehouse.py (test_volumes_and_password_use_the_module_key) asserts from the plan's configuration that both reference that key.
  source                      = "../.."
  name                        = var.name
  vpc_id                      = module.network.vpc_id
  subnet_id                   = module.network.private_subnet_ids[0]
  availability_zone           = module.network.availability_zones[0]
  ami                         = { id = var.ami_id }
  instance_type               = var.instance_type
  detailed_monitoring         = var.detailed_monitoring
  client_security_groups      = { etl = aws_security_group.etl.id }
  client_cidrs                = module.network.private_subnet_cidrs
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

output "warehouse" {
  description = "Every output of the warehouse module."
  value       = module.warehouse
}

output "artifacts" {
  description = "Every output of the artifacts module."
  value       = module.artifacts
}

output "etl_security_group_id" {
  description = "The stand-in ETL security group admitted on 5432."
  value       = aws_security_group.etl.id
}
