# Two AZs, public + private tiers, flow logs on: the shape the analytics platform uses.
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

variable "vpc_cidr" {
  description = "VPC CIDR passed to the module."
  type        = string
  default     = "10.20.0.0/16"
}

variable "availability_zones" {
  description = "AZs passed to the module."
  type        = list(string)
  default     = ["us-east-1a", "us-east-1b"]
}

variable "subnets" {
  description = "Subnet layout passed to the module (see the module's variable)."
  type        = any
  default     = {}
}

variable "flow_logs" {
  description = "Flow log settings passed to the module (see the module's variable)."
  type        = any
  default     = {}
}

module "network" {
  source             = "../.."
  name               = var.name
  vpc_cidr           = var.vpc_cidr
  availability_zones = var.availability_zones
  subnets            = var.subnets
  flow_logs          = var.flow_logs
  tags               = { Project = "clickstream", Environment = "example" }
}

output "network" {
  description = "Every output of the network module."
  value       = module.network
}
