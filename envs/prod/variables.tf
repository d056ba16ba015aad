# Passed through to modules/platform, whose variables.tf types, validates and documents
# each (the same names); null (the default here) means the platform's default.

variable "environment" {
  description = "dev or prod: the name prefix clickstream-<environment> and the Environment tag."
  type        = string
  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "region" {
  description = "AWS region of the provider."
  type        = string
}

variable "availability_zones" { description = "modules/platform network.availability_zones." }
variable "shop_origins" { description = "modules/platform shop_origins." }
variable "frontend" { description = "modules/platform frontend." }
variable "vpc_cidr" { default = null }
variable "allowed_app_ids" { default = null }
variable "ami_id" { default = null }
variable "sizes" { default = null }
variable "retention" { default = null }
variable "deletion_protection" { default = null }
variable "alarms" { default = null }
variable "lambda_reserved_concurrency" { default = null }
variable "host_bundles" { default = null }
variable "repo_root" { default = null }
variable "ingest_package_path" { default = null }
variable "ingest_package_hash" { default = null }
variable "etl_package_path" { default = null }
variable "etl_package_hash" { default = null }
