variable "name" {
  description = "Bucket name (globally unique; 3-63 lowercase letters, digits, dots and hyphens)."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name)) && !strcontains(var.name, "..")
    error_message = "name: 3-63 characters of a-z 0-9 . -, starting and ending with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer managed key for SSE-KMS (bucket keys on). Required for a data bucket; must be null for an access-log target (S3 server access logs can only be delivered to SSE-S3 buckets)."
  type        = string
  default     = null
  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws(-[a-z]+)*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}$", var.kms_key_arn))
    error_message = "kms_key_arn: null or the ARN of a KMS key (arn:aws:kms:<region>:<account>:key/<uuid>), not an alias."
  }
}

variable "require_kms_upload_headers" {
  description = "true: every PutObject must name SSE-KMS and this bucket's key (writers that always send the headers, like the ingest function). false: a PutObject without encryption headers gets the bucket default; one naming another algorithm or key is refused either way."
  type        = bool
  nullable    = false
  default     = false
}

variable "access_logs" {
  description = "Where this bucket's server access logs go: an existing bucket (`target_bucket`, pass the target module's `log_target_id` output so its policy exists first) and a key prefix ending in `/`. Required unless this bucket is itself an access-log target."
  type = object({
    target_bucket = string
    target_prefix = string
  })
  default = null
  validation {
    condition     = var.access_logs == null || can(regex("^[a-z0-9._/-]*/$", var.access_logs.target_prefix))
    error_message = "access_logs.target_prefix: a key prefix of a-z 0-9 . _ / - ending in /."
  }
}

variable "access_log_sources" {
  description = "Makes this bucket an access-log target: the buckets whose server access logs it receives (`bucket_arn`) and the prefix each writes under. Only `logging.s3.amazonaws.com` may write, only for these buckets of this account. Such a bucket uses SSE-S3 and does not log itself."
  type = list(object({
    bucket_arn = string
    prefix     = string
  }))
  nullable = false
  default  = []
  validation {
    condition     = alltrue([for s in var.access_log_sources : can(regex("^[a-z0-9._/-]*/$", s.prefix))])
    error_message = "access_log_sources: each prefix is a key prefix of a-z 0-9 . _ / - ending in /."
  }
}

variable "lifecycle_rules" {
  description = "Lifecycle rules, in order, followed by the module's own bucket-wide `abort-incomplete-multipart-uploads` rule. `prefix` null means the whole bucket. Each rule sets at least one action: transitions, expiration_days, noncurrent_expiration_days."
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
  nullable = false
  validation {
    condition     = length(var.lifecycle_rules) > 0
    error_message = "lifecycle_rules: at least one rule; versioning is always on, so without one every overwritten or deleted object is kept (and billed) forever."
  }
  validation {
    condition     = length(distinct([for r in var.lifecycle_rules : r.id])) == length(var.lifecycle_rules) && alltrue([for r in var.lifecycle_rules : can(regex("^[A-Za-z0-9_-]{1,255}$", r.id)) && r.id != "abort-incomplete-multipart-uploads"])
    error_message = "lifecycle_rules: every rule needs a unique id of 1-255 characters A-Z a-z 0-9 _ - (abort-incomplete-multipart-uploads is the module's own rule)."
  }
  validation {
    condition = alltrue([for r in var.lifecycle_rules : (
      length(r.transitions) > 0 || r.expiration_days != null || r.noncurrent_expiration_days != null
    )])
    error_message = "lifecycle_rules: every rule needs at least one action (transitions, expiration_days, noncurrent_expiration_days)."
  }
  validation {
    condition = alltrue(flatten([for r in var.lifecycle_rules : concat(
      [for d in [r.expiration_days, r.noncurrent_expiration_days] : d == null ? true : d >= 1 && floor(d) == d],
      [for t in r.transitions : t.days >= 0 && floor(t.days) == t.days && contains(["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"], t.storage_class)],
    )]))
    error_message = "lifecycle_rules: days are whole numbers (at least 1 for expirations) and storage_class one of STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE."
  }
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which an incomplete multipart upload anywhere in the bucket is aborted and its parts deleted (the module's last lifecycle rule, bucket-wide: S3 refuses a second abort rule on an overlapping prefix, so lifecycle_rules carry none)."
  type        = number
  nullable    = false
  default     = 1
  validation {
    condition     = var.abort_incomplete_multipart_days >= 1 && var.abort_incomplete_multipart_days <= 30 && floor(var.abort_incomplete_multipart_days) == var.abort_incomplete_multipart_days
    error_message = "abort_incomplete_multipart_days: a whole number of days from 1 to 30."
  }
}

variable "policy_documents" {
  description = "Further bucket policy documents (JSON, e.g. `data.aws_iam_policy_document.x.json`) merged after the module's own statements; a statement whose sid repeats one of the module's (DenyInsecureTransport, DenyNonKmsEncryption, DenyOtherKmsKeys, S3ServerAccessLogDelivery<n>) is replaced by the module's, so no caller can drop them."
  type        = list(string)
  nullable    = false
  default     = []
}

variable "policy_waits_for" {
  description = "Values the bucket policy is written after, for example the ids of objects a caller uploads with Terraform (an emulator that evaluates the policy's Deny statements without their conditions would refuse those uploads if the policy came first). The reference orders the apply; each value must be non-empty."
  type        = list(string)
  nullable    = false
  default     = []
}

variable "force_destroy" {
  description = "Let terraform destroy delete a bucket that still holds objects (test and demo stacks only)."
  type        = bool
  nullable    = false
  default     = false
}

variable "tags" {
  description = "Tags of the bucket."
  type        = map(string)
  nullable    = false
  default     = {}
}
