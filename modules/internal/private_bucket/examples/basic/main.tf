# modules/internal/private_bucket on its own: a data bucket (SSE-KMS with a key from
# modules/internal/kms_key) whose server access logs go to an access-log target made by the same
# module, the pair modules/ingest and modules/artifacts build. terraform.tfvars holds the
# names and lifecycle rules; the plan tests pass hostile values on top.
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

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

variable "region" {
  description = "Region of the provider."
  type        = string
  default     = "us-east-1"
}

variable "bucket_name" {
  description = "Name of the data bucket."
  type        = string
}

variable "log_bucket_name" {
  description = "Name of the access-log target."
  type        = string
}

variable "kms_key_arn" {
  description = "An existing key for the data bucket; null makes one with modules/internal/kms_key."
  type        = string
  default     = null
}

variable "require_kms_upload_headers" {
  description = "Passed to the data bucket."
  type        = bool
  default     = false
}

variable "lifecycle_rules" {
  description = "Lifecycle rules of the data bucket (see the module's variable)."
  type = list(object({
    id     = string
    prefix = optional(string)
    transitions = optional(list(object({
      days          = number
      storage_class = string
    })), [])
    expiration_days            = optional(number)
    noncurrent_expiration_days = optional(number)
  }))
}

variable "extra_statement_sid" {
  description = "Sid of the caller statement merged into the data bucket's policy (a test sets a module sid to prove the module's statement wins)."
  type        = string
  default     = "ReadersOfThisAccountOnly"
}

locals {
  account_root = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"
  log_prefix   = "s3/${var.bucket_name}/"
}

module "key" {
  count              = var.kms_key_arn == null ? 1 : 0
  source             = "../../../kms_key"
  alias              = "${var.bucket_name}-example"
  description        = "SSE-KMS of the example bucket ${var.bucket_name}"
  key_administrators = [local.account_root]
  key_users = [{
    sid        = "AccountPrincipalsUseTheKeyOnlyThroughS3"
    principals = [local.account_root]
    conditions = [{ test = "StringEquals", variable = "kms:ViaService", values = ["s3.${var.region}.amazonaws.com"] }]
  }]
}

# A caller statement: only principals of this account may read objects.
data "aws_iam_policy_document" "extra" {
  statement {
    sid       = var.extra_statement_sid
    effect    = "Deny"
    actions   = ["s3:GetObject"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${var.bucket_name}/*"]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "aws:PrincipalAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

module "logs" {
  #checkov:skip=CKV_AWS_18,CKV_AWS_145:An access-log target: logging it into itself would loop, and S3 server access log delivery cannot write to SSE-KMS buckets, so it is SSE-S3 (request metadata only). The module makes every bucket that is not a log target use SSE-KMS and log its access.
  source        = "../.."
  name          = var.log_bucket_name
  force_destroy = true
  access_log_sources = [{
    bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_name}"
    prefix     = local.log_prefix
  }]
  lifecycle_rules = [{
    id                         = "expire-access-logs"
    expiration_days            = 90
    noncurrent_expiration_days = 7
  }]
  tags = { Project = "clickstream", Environment = "example", Name = var.log_bucket_name }
}

module "data" {
  source                     = "../.."
  name                       = var.bucket_name
  kms_key_arn                = var.kms_key_arn == null ? module.key[0].key_arn : var.kms_key_arn
  require_kms_upload_headers = var.require_kms_upload_headers
  access_logs                = { target_bucket = module.logs.log_target_id, target_prefix = local.log_prefix }
  lifecycle_rules            = var.lifecycle_rules
  policy_documents           = [data.aws_iam_policy_document.extra.json]
  force_destroy              = true
  tags                       = { Project = "clickstream", Environment = "example", Name = var.bucket_name }
}

output "bucket" {
  description = "Name of the data bucket."
  value       = module.data.id
}

output "log_bucket" {
  description = "Name of the access-log target."
  value       = module.logs.log_target_id
}
