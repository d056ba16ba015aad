variable "name" {
  description = "Name prefix of every resource (function, API, buckets, key alias). Lowercase letters, digits and hyphens, 3-32 characters, starting with a letter."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "package_path" {
  description = "Path of the ingest Lambda zip built outside Terraform (`make build` -> build/lambda/ingest.zip)."
  type        = string
  nullable    = false
}

variable "package_hash" {
  description = "Base64-encoded SHA-256 of the zip (build/lambda/ingest.zip.b64sha256), used as source_code_hash so a changed build redeploys. Both are checked by modules/internal/lambda_function (package.path, package.hash)."
  type        = string
  nullable    = false
}

variable "batcher_package_path" {
  description = "Path of the batcher Lambda zip (`make build` -> build/lambda/batcher.zip); used when buffer.enabled."
  type        = string
  nullable    = false
}

variable "batcher_package_hash" {
  description = "Base64-encoded SHA-256 of the batcher zip (build/lambda/batcher.zip.b64sha256), its source_code_hash."
  type        = string
  nullable    = false
}

variable "allowed_app_ids" {
  description = "Application ids accepted in the request envelope (ALLOWED_APP_IDS); any other app_id is answered 403."
  type        = list(string)
  nullable    = false
  validation {
    condition     = length(var.allowed_app_ids) >= 1 && alltrue([for a in var.allowed_app_ids : can(regex("^[A-Za-z0-9._:-]{1,64}$", a))])
    error_message = "allowed_app_ids must list at least one id of 1-64 letters, digits, '.', '_', ':' or '-' (no commas: the list is passed comma-separated)."
  }
}

variable "cors_allow_origins" {
  description = "Origins of the shop allowed to call the API from a browser (scheme://host[:port], no path, no wildcard), e.g. [\"https://shop.example.com\"]."
  type        = list(string)
  nullable    = false
  validation {
    condition     = length(var.cors_allow_origins) >= 1 && alltrue([for o in var.cors_allow_origins : can(regex("^https?://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$", o))])
    error_message = "cors_allow_origins must list at least one origin like https://shop.example.com (scheme and host, optional port, no path, no '*')."
  }
}

variable "raw_prefix" {
  description = "Key prefix of accepted events in the raw bucket (RAW_PREFIX); rejected events go under <raw_prefix>rejected/."
  type        = string
  default     = "events/v1/"
  nullable    = false
  validation {
    condition     = can(regex("^([A-Za-z0-9_.-]+/)+$", var.raw_prefix))
    error_message = "raw_prefix must be one or more path segments of letters, digits, '_', '.', '-', each ending in '/', e.g. events/v1/."
  }
}

variable "lambda" {
  description = <<-EOT
    Ingest function settings. `reserved_concurrency` is off (null) by default: the function
    scales within the account's unreserved pool and the API stage's throttling caps the
    request rate. Set it (1-1000) to cap and reserve concurrent executions, so a traffic
    spike cannot starve the account's other functions nor run up unbounded S3 PUTs; AWS
    refuses a reservation that leaves fewer than min(100, quota) executions unreserved, so a
    new account (quota 10) cannot have one until its "Concurrent executions" quota is raised
    (`make preflight` checks this). `max_body_bytes` and `max_events_per_request` become
    MAX_BODY_BYTES and MAX_EVENTS_PER_REQUEST. memory_size, timeout and reserved_concurrency
    go to modules/internal/lambda_function, which also checks AWS's limits (memory 128-10240).
  EOT
  type = object({
    memory_size            = optional(number, 512)
    timeout                = optional(number, 10)
    reserved_concurrency   = optional(number)
    max_body_bytes         = optional(number, 1048576)
    max_events_per_request = optional(number, 500)
    log_level              = optional(string, "INFO")
  })
  default  = {}
  nullable = false
  validation {
    condition     = var.lambda.timeout >= 1 && var.lambda.timeout <= 29
    error_message = "lambda.timeout must be 1-29 seconds: the HTTP API integration times out at 30 s."
  }
  validation {
    # try(): Terraform 1.11 evaluates both sides of ||, and a comparison with null is an error.
    condition     = var.lambda.reserved_concurrency == null || try(var.lambda.reserved_concurrency >= 1 && var.lambda.reserved_concurrency <= 1000 && floor(var.lambda.reserved_concurrency) == var.lambda.reserved_concurrency, false)
    error_message = "lambda.reserved_concurrency must be null (no reservation, the default) or a whole number between 1 and 1000 (0 would stop the function; the account must keep min(100, quota) executions unreserved)."
  }
  validation {
    condition     = var.lambda.max_body_bytes >= 1024 && var.lambda.max_body_bytes <= 6291456
    error_message = "lambda.max_body_bytes must be between 1024 and 6291456 (the 6 MiB Lambda payload limit)."
  }
  validation {
    condition     = var.lambda.max_events_per_request >= 1 && var.lambda.max_events_per_request <= 10000
    error_message = "lambda.max_events_per_request must be between 1 and 10000."
  }
  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.lambda.log_level)
    error_message = "lambda.log_level must be one of DEBUG, INFO, WARNING, ERROR."
  }
}

variable "throttling" {
  description = "Default route throttling of the API stage: steady-state requests per second and burst size."
  type = object({
    rate_limit  = optional(number, 100)
    burst_limit = optional(number, 200)
  })
  default  = {}
  nullable = false
  validation {
    condition     = var.throttling.rate_limit > 0 && var.throttling.rate_limit <= 10000 && var.throttling.burst_limit >= 1 && var.throttling.burst_limit <= 5000 && floor(var.throttling.burst_limit) == var.throttling.burst_limit
    error_message = "throttling.rate_limit must be in (0, 10000] and throttling.burst_limit an integer in [1, 5000] (the account-level HTTP API quotas)."
  }
}

variable "raw_lifecycle" {
  description = <<-EOT
    Storage lifecycle of the raw bucket, in days after creation. Accepted events move to
    STANDARD_IA, then GLACIER_IR, and expire; rejected events expire on their own schedule;
    noncurrent versions expire after `noncurrent_expiration_days`. Note that S3 does not
    transition objects smaller than 128 KiB by default, which most per-request objects are.
  EOT
  type = object({
    standard_ia_days           = optional(number, 30)
    glacier_ir_days            = optional(number, 90)
    expiration_days            = optional(number, 730)
    rejected_expiration_days   = optional(number, 90)
    noncurrent_expiration_days = optional(number, 30)
  })
  default  = {}
  nullable = false
  validation {
    condition     = var.raw_lifecycle.standard_ia_days >= 30
    error_message = "raw_lifecycle.standard_ia_days must be at least 30 (the S3 minimum for STANDARD_IA)."
  }
  validation {
    condition     = var.raw_lifecycle.glacier_ir_days >= var.raw_lifecycle.standard_ia_days + 30 && var.raw_lifecycle.expiration_days > var.raw_lifecycle.glacier_ir_days + 90
    error_message = "raw_lifecycle must satisfy standard_ia_days + 30 <= glacier_ir_days and glacier_ir_days + 90 < expiration_days (S3 minimum storage durations)."
  }
  validation {
    condition     = var.raw_lifecycle.rejected_expiration_days >= 1 && var.raw_lifecycle.noncurrent_expiration_days >= 1
    error_message = "raw_lifecycle.rejected_expiration_days and noncurrent_expiration_days must be at least 1."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's CloudWatch log group and expiry of the raw bucket's S3 server access logs (days, a value CloudWatch accepts). Neither holds client IPs: the function logs request ids, app ids, keys and counts."
  type        = number
  default     = 365
  nullable    = false
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the CloudWatch Logs retention values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "access_log_retention_days" {
  description = "Retention of the HTTP API's access log group (days, a value CloudWatch accepts). Those lines hold each visitor's full IP address and user agent, personal data the platform otherwise only stores truncated, so they are kept for operations and abuse investigation only: 90 days by default."
  type        = number
  default     = 90
  nullable    = false
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.access_log_retention_days)
    error_message = "access_log_retention_days must be one of the CloudWatch Logs retention values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the customer managed key is deleted after a destroy (7-30 days)."
  type        = number
  default     = 30
  nullable    = false
  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "force_destroy" {
  description = "Allow destroying the buckets with objects in them. Keep false outside tests: the raw bucket is the system of record."
  type        = bool
  default     = false
  nullable    = false
}

variable "buffer" {
  description = <<-EOT
    The SQS buffer between ingest and the lake (buffer.tf, docs/lake.md), on by default: ingest
    sends each request's events to a queue and the batcher function writes one raw object per
    batch of up to `batch_size` messages (1-10000) gathered for at most
    `batching_window_seconds` (0-300), with at most `maximum_concurrency` (2-1000, Lambda's
    range) batchers at once. `batcher` sizes that function (memory_size, timeout: the queue's
    visibility timeout is 6x the timeout, at most SQS's 12 hours). `mapping_enabled` false
    creates the event source mapping disabled (the emulator, where the harness plays it);
    `restrict_dlq_sources` false leaves out the DLQ's redrive allow policy (only the emulator,
    whose SQS lacks the attribute: elsewhere any queue of the account could redrive into it).
    `enabled` false brings back one object per request and creates none of it.
  EOT
  type = object({
    enabled                 = optional(bool, true)
    batch_size              = optional(number, 10000)
    batching_window_seconds = optional(number, 300)
    maximum_concurrency     = optional(number, 2)
    mapping_enabled         = optional(bool, true)
    restrict_dlq_sources    = optional(bool, true)
    batcher = optional(object({
      memory_size = optional(number, 512)
      timeout     = optional(number, 60)
    }), {})
  })
  default  = {}
  nullable = false
  validation {
    condition     = var.buffer.batching_window_seconds >= 0 && var.buffer.batching_window_seconds <= 300 && floor(var.buffer.batching_window_seconds) == var.buffer.batching_window_seconds
    error_message = "buffer.batching_window_seconds must be a whole number of seconds between 0 and 300 (Lambda's maximum batching window)."
  }
  validation {
    condition     = var.buffer.batch_size >= 1 && var.buffer.batch_size <= 10000 && floor(var.buffer.batch_size) == var.buffer.batch_size
    error_message = "buffer.batch_size must be a whole number between 1 and 10000 (the most an SQS event source mapping takes)."
  }
  validation {
    condition     = var.buffer.maximum_concurrency >= 2 && var.buffer.maximum_concurrency <= 1000 && floor(var.buffer.maximum_concurrency) == var.buffer.maximum_concurrency
    error_message = "buffer.maximum_concurrency must be a whole number between 2 and 1000 (the event source mapping's scaling limits)."
  }
  validation {
    condition     = var.buffer.batcher.timeout >= 1 && var.buffer.batcher.timeout <= 900 && floor(var.buffer.batcher.timeout) == var.buffer.batcher.timeout
    error_message = "buffer.batcher.timeout must be a whole number of seconds between 1 and 900 (the queue's visibility timeout, 6x it, stays within SQS's 12 hours)."
  }
  validation {
    # Lambda refuses an SQS mapping with more than 10 messages a batch and no batching window.
    condition     = var.buffer.batching_window_seconds > 0 || var.buffer.batch_size <= 10
    error_message = "buffer.batch_size above 10 needs buffer.batching_window_seconds of at least 1 (Lambda's rule for SQS batches)."
  }
}

variable "alarm_actions" {
  description = "SNS topic ARNs notified by the buffer's alarms (messages in the dead-letter queue, an old oldest message, batcher errors)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "tags" {
  description = "Tags merged into every taggable resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
