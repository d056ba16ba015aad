# Set by envs/<env>/terraform.tfvars, passed through to modules/platform, whose variables.tf
# types, validates and documents each (the same names); null (the default here) means the
# platform's default.

variable "environment" {
  description = "The env's folder (envs/<environment> holds these tfvars): the name prefix clickstream-<environment> and the Environment tag."
  type        = string
  validation {
    # make plan/apply/preflight also refuse tfvars whose environment is not their folder's name.
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.environment))
    error_message = "environment must be the env folder's name: 3-20 lower-case letters, digits and hyphens."
  }
}

variable "region" {
  description = "AWS region of the provider."
  type        = string
}

variable "availability_zones" { description = "modules/platform network.availability_zones." }
variable "shop_origins" { description = "modules/platform shop_origins." }
variable "frontend" { description = "modules/platform frontend." }
variable "vpc_cidr" {
  description = "modules/platform's vpc_cidr; null takes its default."
  default     = null
}
variable "allowed_app_ids" {
  description = "modules/platform's allowed_app_ids; null takes its default."
  default     = null
}
variable "ami_id" {
  description = "modules/platform's ami_id; null takes its default."
  default     = null
}
variable "sizes" {
  description = "modules/platform's sizes; null takes its default."
  default     = null
}
variable "retention" {
  description = "modules/platform's retention; null takes its default."
  default     = null
}
variable "deletion_protection" {
  description = "modules/platform's deletion_protection; null takes its default."
  default     = null
}
variable "alarms" {
  description = "modules/platform's alarms; null takes its default."
  default     = null
}
variable "lambda_reserved_concurrency" {
  description = "modules/platform's lambda_reserved_concurrency; null takes its default."
  default     = null
}
variable "host_bundles" {
  description = "modules/platform's host_bundles; null takes its default."
  default     = null
}
variable "repo_root" {
  description = "modules/platform's repo_root; null takes its default."
  default     = null
}
variable "ingest_package_path" {
  description = "modules/platform's ingest_package_path; null takes its default."
  default     = null
}
variable "ingest_package_hash" {
  description = "modules/platform's ingest_package_hash; null takes its default."
  default     = null
}
variable "etl_package_path" {
  description = "modules/platform's etl_package_path; null takes its default."
  default     = null
}
variable "batcher_package_path" {
  description = "modules/platform's packages.batcher.path; null takes its default (build/lambda/batcher.zip)."
  default     = null
}
variable "batcher_package_hash" {
  description = "modules/platform's packages.batcher.hash; null takes its default (read beside the zip)."
  default     = null
}
variable "etl_package_hash" {
  description = "modules/platform's etl_package_hash; null takes its default."
  default     = null
}
