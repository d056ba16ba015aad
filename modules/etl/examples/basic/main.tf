# The ETL module on a minimal private network of its own (no NAT), so it plans and applies
# against the emulator without the network/endpoints/warehouse modules. An environment wires
# those modules' outputs in instead.
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

variable "package_path" {
  description = "Path of the ETL zip (build/lambda/etl.zip)."
  type        = string
}

variable "package_hash" {
  description = "Base64 SHA-256 of the zip (build/lambda/etl.zip.b64sha256)."
  type        = string
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

variable "password_parameter_name" {
  description = "Name of the SSM SecureString with the ETL user's password (owned by the warehouse deployment)."
  type        = string
  default     = "/clickstream-dev/dw/etl-password"
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

resource "aws_vpc" "this" {
  cidr_block           = "10.42.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = "${var.name}-etl-example" }
}

resource "aws_subnet" "private" {
  count             = 2
  vpc_id            = aws_vpc.this.id
  cidr_block        = cidrsubnet(aws_vpc.this.cidr_block, 8, count.index)
  availability_zone = "${data.aws_region.current.name}${["a", "b"][count.index]}"
  tags              = { Name = "${var.name}-private-${count.index}" }
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.this.id
  tags   = { Name = "${var.name}-private" }
}

resource "aws_route_table_association" "private" {
  count          = 2
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private.id]
}

resource "aws_security_group" "warehouse" {
  name        = "${var.name}-dw"
  description = "Stand-in for the warehouse security group"
  vpc_id      = aws_vpc.this.id
}

resource "aws_security_group" "endpoints" {
  name        = "${var.name}-endpoints"
  description = "Stand-in for the interface endpoints security group"
  vpc_id      = aws_vpc.this.id
}

resource "aws_kms_key" "raw" {
  description         = "Raw bucket key (example)"
  enable_key_rotation = true
}

resource "aws_s3_bucket" "raw" {
  bucket        = "${var.name}-etl-example-raw"
  force_destroy = true
}

module "etl" {
  source       = "../.."
  name         = var.name
  package_path = var.package_path
  package_hash = var.package_hash
  vpc = {
    vpc_id                      = aws_vpc.this.id
    subnet_ids                  = aws_subnet.private[*].id
    s3_prefix_list_id           = aws_vpc_endpoint.s3.prefix_list_id
    endpoints_security_group_id = aws_security_group.endpoints.id
  }
  warehouse = {
    security_group_id      = aws_security_group.warehouse.id
    host                   = "dw.internal.example"
    password_parameter_arn = "arn:aws:ssm:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:parameter${var.password_parameter_name}"
  }
  raw = {
    bucket_name = aws_s3_bucket.raw.id
    kms_key_arn = aws_kms_key.raw.arn
  }
  schedule_expression = var.schedule_expression
  lambda              = var.lambda
  tags                = { Environment = "example" }
}

output "function_name" {
  description = "ETL function name."
  value       = module.etl.function_name
}

output "security_group_id" {
  description = "ETL security group."
  value       = module.etl.security_group_id
}

output "role_name" {
  description = "ETL execution role name."
  value       = "${var.name}-etl-role"
}

output "raw_bucket" {
  description = "Raw bucket of the example."
  value       = aws_s3_bucket.raw.id
}
