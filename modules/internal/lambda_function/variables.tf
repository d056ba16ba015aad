variable "name" {
  description = "Function name; the role is `<name>-role` and the log group `/aws/lambda/<name>`. Letters, digits, hyphens and underscores, at most 59 characters (so `<name>-role` fits IAM's 64)."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,59}$", var.name))
    error_message = "name must be 1-59 letters, digits, hyphens or underscores (the role name <name>-role is limited to 64 characters)."
  }
}

variable "description" {
  description = "What the function does, shown in the Lambda console."
  type        = string
  nullable    = false
  validation {
    condition     = length(trimspace(var.description)) > 0 && length(var.description) <= 256
    error_message = "description must be a non-empty text of at most 256 characters."
  }
}

variable "package" {
  description = "The deployment zip built outside Terraform: its `path` and the base64-encoded SHA-256 `hash` of it (`<fn>.zip.b64sha256`), used as source_code_hash so a changed build redeploys."
  type = object({
    path = string
    hash = string
  })
  nullable = false
  validation {
    condition     = endswith(var.package.path, ".zip")
    error_message = "package.path must be the path of a .zip file (make build writes build/lambda/<fn>.zip)."
  }
  validation {
    condition     = can(regex("^[A-Za-z0-9+/]{43}=$", var.package.hash))
    error_message = "package.hash must be a base64-encoded SHA-256 digest (44 characters ending in '='), as written to <fn>.zip.b64sha256."
  }
}

variable "handler" {
  description = "Entry point, `module.path.function` (for example `ingest.handler.handler`)."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+$", var.handler))
    error_message = "handler must be a dotted Python path ending in the function, e.g. ingest.handler.handler."
  }
}

variable "runtime" {
  description = "Lambda runtime; only the Python runtimes AWS still supports, because the packages are built for Python."
  type        = string
  nullable    = false
  default     = "python3.12"
  validation {
    condition     = contains(["python3.10", "python3.11", "python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be one of python3.10, python3.11, python3.12, python3.13."
  }
}

variable "architecture" {
  description = "Instruction set of the function; the zip's compiled wheels must match it."
  type        = string
  nullable    = false
  default     = "x86_64"
  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "settings" {
  description = <<-EOT
    Sizing within AWS's limits: memory_size (128-10240 MB), timeout (1-900 s) and
    reserved_concurrency (null, the default: no reservation, the provider sends -1; or a whole
    number of at least 1, since 0 would stop the function). The callers' own `lambda`
    variables set their defaults and narrower ranges (an API-fronted function must answer
    within API Gateway's 30 s) and are passed here as they are: attributes this object does
    not name are dropped by the conversion.
  EOT
  type = object({
    memory_size          = optional(number, 128)
    timeout              = optional(number, 3)
    reserved_concurrency = optional(number)
  })
  nullable = false
  default  = {}
  validation {
    condition     = var.settings.memory_size >= 128 && var.settings.memory_size <= 10240 && floor(var.settings.memory_size) == var.settings.memory_size
    error_message = "settings.memory_size must be a whole number of MB between 128 and 10240."
  }
  validation {
    condition     = var.settings.timeout >= 1 && var.settings.timeout <= 900 && floor(var.settings.timeout) == var.settings.timeout
    error_message = "settings.timeout must be a whole number of seconds between 1 and 900."
  }
  validation {
    # try(): Terraform 1.11 evaluates both sides of ||, and a comparison with null is an error.
    condition     = var.settings.reserved_concurrency == null || try(var.settings.reserved_concurrency >= 1 && floor(var.settings.reserved_concurrency) == var.settings.reserved_concurrency, false)
    error_message = "settings.reserved_concurrency must be null (no reservation) or a whole number of at least 1 (0 would stop the function)."
  }
}

variable "environment" {
  description = "Environment variables of the function. No secrets: they are readable by anyone who may read the function's configuration (secrets are read at run time, e.g. from SSM)."
  type        = map(string)
  nullable    = false
  default     = {}
  validation {
    condition     = alltrue([for k in keys(var.environment) : can(regex("^[A-Za-z][A-Za-z0-9_]*$", k)) && !startswith(k, "AWS_")])
    error_message = "environment keys must be letters, digits and underscores starting with a letter, and not in the reserved AWS_ namespace."
  }
}

variable "vpc" {
  description = "Private subnets and security groups to run the function in; null (the default) runs it outside any VPC. When set, the role gets the EC2 network-interface actions Lambda needs to place it there."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null
  validation {
    condition     = var.vpc == null || try(length(var.vpc.subnet_ids) >= 1 && length(var.vpc.security_group_ids) >= 1 && alltrue([for s in var.vpc.subnet_ids : startswith(s, "subnet-")]) && alltrue([for g in var.vpc.security_group_ids : startswith(g, "sg-")]), false)
    error_message = "vpc must be null or list at least one subnet id (subnet-...) and one security group id (sg-...)."
  }
}

variable "failures" {
  description = <<-EOT
    Where failed asynchronous invocations go, for a function invoked asynchronously (a
    schedule, an event): `queue_arn`, an SQS queue that is both the dead-letter target and the
    on-failure destination, with `maximum_retry_attempts` (0-2) and
    `maximum_event_age_in_seconds` (60-21600). The role may send to that queue and nothing
    else of SQS. null (the default) for a function invoked synchronously (API Gateway), where
    neither applies.
  EOT
  type = object({
    queue_arn                    = string
    maximum_retry_attempts       = optional(number, 2)
    maximum_event_age_in_seconds = optional(number, 21600)
  })
  default = null
  validation {
    condition     = var.failures == null || try(can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}$", var.failures.queue_arn)), false)
    error_message = "failures.queue_arn must be the ARN of one SQS queue (arn:aws:sqs:<region>:<account>:<name>)."
  }
  validation {
    condition     = var.failures == null || try(contains([0, 1, 2], var.failures.maximum_retry_attempts) && var.failures.maximum_event_age_in_seconds >= 60 && var.failures.maximum_event_age_in_seconds <= 21600, false)
    error_message = "failures.maximum_retry_attempts must be 0, 1 or 2 and failures.maximum_event_age_in_seconds between 60 and 21600 (Lambda's limits)."
  }
}

variable "log" {
  description = "The function's CloudWatch log group: `retention_days` (a value CloudWatch accepts; always set, logs never live forever) and `kms_key_arn`, the customer managed key encrypting it, whose key policy must let logs.<region>.amazonaws.com use it for /aws/lambda/<name>."
  type = object({
    retention_days = number
    kms_key_arn    = string
  })
  nullable = false
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log.retention_days)
    error_message = "log.retention_days must be one of the CloudWatch Logs retention values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.log.kms_key_arn))
    error_message = "log.kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>): the log group is always encrypted with a customer managed key."
  }
}

variable "role" {
  description = <<-EOT
    The execution role: its `description`, and `policy_prefix`, the start of the names of the
    inline policies this module attaches (`<prefix>-execution`: its own log streams and the
    failure queue; `<prefix>-vpc-enis` when in a VPC). What the function itself does (S3, KMS,
    SSM) the caller attaches to the `role_name` output as inline policies of its own, so each
    permission is written where its reason is.
  EOT
  type = object({
    description   = string
    policy_prefix = string
  })
  nullable = false
  validation {
    condition     = length(trimspace(var.role.description)) > 0 && length(var.role.description) <= 1000
    error_message = "role.description must be a non-empty text of at most 1000 characters."
  }
  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,50}$", var.role.policy_prefix))
    error_message = "role.policy_prefix must be 1-50 characters of letters, digits and +=,.@_- (IAM policy names)."
  }
}

variable "tags" {
  description = "Tags of the function, its role and its log group."
  type        = map(string)
  nullable    = false
  default     = {}
}
