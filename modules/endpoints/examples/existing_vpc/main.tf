# Endpoints for a VPC that already exists (IDs passed in), e.g. one built outside this repo.
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
  default     = "clickstream-dev"
}

variable "region" {
  description = "Region of the provider and of the endpoint service names."
  type        = string
  default     = "us-east-1"
}

variable "vpc_id" {
  description = "Existing VPC."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR of the existing VPC."
  type        = string
}

variable "route_table_ids" {
  description = "Private route tables of the existing VPC."
  type        = list(string)
}

variable "subnet_ids" {
  description = "Private subnets of the existing VPC."
  type        = list(string)
}

variable "bucket_arns" {
  description = "Platform buckets the S3 endpoint policy allows."
  type        = list(string)
}

variable "bucket_actions" {
  description = "S3 actions allowed on the platform buckets; null keeps the module default."
  type        = list(string)
  default     = null
}

variable "allow_al2023_repositories" {
  description = "Whether the AL2023 repository bucket is allowed."
  type        = bool
  default     = true
}

variable "allow_ssm_agent_buckets" {
  description = "Whether the SSM Agent's AWS-owned buckets are allowed."
  type        = bool
  default     = true
}

variable "interface_endpoints" {
  description = "Extra interface endpoints."
  type        = set(string)
  default     = []
}

module "endpoints" {
  source                    = "../.."
  name                      = var.name
  region                    = var.region
  vpc_id                    = var.vpc_id
  vpc_cidr                  = var.vpc_cidr
  route_table_ids           = var.route_table_ids
  subnet_ids                = var.subnet_ids
  bucket_arns               = var.bucket_arns
  bucket_actions            = var.bucket_actions
  allow_al2023_repositories = var.allow_al2023_repositories
  allow_ssm_agent_buckets   = var.allow_ssm_agent_buckets
  interface_endpoints       = var.interface_endpoints
  tags                      = { Project = "clickstream", Environment = "example" }
}

output "endpoints" {
  description = "Every output of the endpoints module."
  value       = module.endpoints
}
