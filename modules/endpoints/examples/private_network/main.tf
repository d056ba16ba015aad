# The analytics network as the platform composes it: network + endpoints, no NAT Gateway.
# This root is what the plan tests and the emulator apply/destroy test run.
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
  description = "Name prefix passed to both modules."
  type        = string
  default     = "clickstream-dev"
}

variable "region" {
  description = "Region of the provider and of the endpoint service names."
  type        = string
  default     = "us-east-1"
}

variable "vpc_cidr" {
  description = "VPC CIDR."
  type        = string
  default     = "10.20.0.0/16"
}

variable "availability_zones" {
  description = "AZs of the network."
  type        = list(string)
  default     = ["us-east-1a", "us-east-1b"]
}

variable "data_tier" {
  description = "Whether the network gets the separate data (OLTP) tier; its route tables get the S3 endpoint too."
  type        = bool
  default     = true
}

variable "bucket_arns" {
  description = "Platform buckets the S3 endpoint policy allows."
  type        = list(string)
  default     = ["arn:aws:s3:::clickstream-dev-raw", "arn:aws:s3:::clickstream-dev-artifacts"]
}

variable "interface_endpoints" {
  description = "Extra interface endpoints."
  type        = set(string)
  default     = ["logs"]
}

locals {
  tags = { Project = "clickstream", Environment = "example" }
}

module "network" {
  source             = "../../../network"
  name               = var.name
  vpc_cidr           = var.vpc_cidr
  availability_zones = var.availability_zones
  subnets            = { data_tier = var.data_tier }
  tags               = local.tags
}

module "endpoints" {
  source              = "../.."
  name                = var.name
  region              = var.region
  vpc_id              = module.network.vpc_id
  vpc_cidr            = module.network.vpc_cidr
  route_table_ids     = module.network.isolated_route_table_ids
  subnet_ids          = module.network.private_subnet_ids
  bucket_arns         = var.bucket_arns
  interface_endpoints = var.interface_endpoints
  tags                = local.tags
}

output "network" {
  description = "Every output of the network module."
  value       = module.network
}

output "endpoints" {
  description = "Every output of the endpoints module."
  value       = module.endpoints
}
