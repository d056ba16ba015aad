variable "bucket_name" {
  description = "Name of the artifacts bucket (globally unique, 3-63 characters of lowercase letters, digits, hyphens and dots). Passed in, not generated, so the S3 endpoint policy and IAM policies can name it at plan time."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) && !can(regex("\\.\\.|^\\d+\\.\\d+\\.\\d+\\.\\d+$|^xn--|-s3alias$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name: 3-63 lowercase letters, digits, hyphens or dots, starting and ending with a letter or digit, no '..', not an IP address."
  }
}

variable "artifacts" {
  description = <<-EOT
    Files to upload, keyed by object key (for example "dw/bundles/warehouse-<sha256>.tar.gz"
    => { source = "../../build/hosts/warehouse.tar.gz" }). The composition decides what goes
    in (the hosts' bundles); each object carries the file's MD5 as source_hash, so changing a
    file re-uploads it on the next apply.
  EOT
  type = map(object({
    source       = string
    content_type = optional(string, "application/octet-stream")
  }))
  default  = {}
  nullable = false
  validation {
    condition = alltrue([
      for k in keys(var.artifacts) :
      can(regex("^[A-Za-z0-9][A-Za-z0-9._+=-]*(/[A-Za-z0-9._+=-]+)*$", k)) && !can(regex("(^|/)\\.\\.?(/|$)", k))
    ])
    error_message = "artifacts keys must be relative object keys of letters, digits and ._+=- separated by single slashes: no leading slash, no '.' or '..' segments, no spaces."
  }
  validation {
    condition     = alltrue([for k in keys(var.artifacts) : !startswith(k, var.backup_prefix)])
    error_message = "artifacts keys must not start with backup_prefix: that prefix holds database dumps and has its own retention."
  }
}

variable "backup_prefix" {
  description = "Key prefix (ending in '/') under which the database hosts write their nightly dumps; objects there expire after backup_retention_days."
  type        = string
  default     = "backups/"
  nullable    = false
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*/$", var.backup_prefix))
    error_message = "backup_prefix must be a relative key prefix of lowercase letters, digits, '_' and '-' segments ending in '/', e.g. backups/."
  }
}

variable "backup_retention_days" {
  description = "Days a database dump is kept before it expires (current and non-current versions)."
  type        = number
  default     = 35
  nullable    = false
  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 3650 && floor(var.backup_retention_days) == var.backup_retention_days
    error_message = "backup_retention_days must be a whole number of days between 1 and 3650."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Days a superseded artifact version is kept (for rollback) before it expires."
  type        = number
  default     = 90
  nullable    = false
  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && floor(var.noncurrent_version_retention_days) == var.noncurrent_version_retention_days
    error_message = "noncurrent_version_retention_days must be a whole number of days, at least 1."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the bucket (SSE-KMS). Null creates a dedicated key with rotation."
  type        = string
  default     = null
  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:key/[0-9a-f-]{36}$", var.kms_key_arn))
    error_message = "kms_key_arn must be null (the module creates a key) or a KMS key ARN."
  }
}

variable "access_logs" {
  description = "S3 server access logging. With target_bucket null the module creates a log bucket (SSE-S3: S3 log delivery cannot write to SSE-KMS targets), else logs go to the given bucket."
  type = object({
    target_bucket  = optional(string)
    target_prefix  = optional(string, "s3-access/artifacts/")
    retention_days = optional(number, 365)
  })
  default  = {}
  nullable = false
  validation {
    condition     = var.access_logs.target_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_logs.target_bucket))
    error_message = "access_logs.target_bucket must be null or a valid S3 bucket name."
  }
  validation {
    condition     = var.access_logs.retention_days >= 1 && floor(var.access_logs.retention_days) == var.access_logs.retention_days
    error_message = "access_logs.retention_days must be a whole number of days, at least 1."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy the buckets with objects in them (dev and tests only; keep false in prod)."
  type        = bool
  default     = false
  nullable    = false
}

variable "tags" {
  description = "Tags merged into every taggable resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
