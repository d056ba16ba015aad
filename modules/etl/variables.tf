variable "name" {
  description = "Name prefix for every resource (function, role, queue, alarms)."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name))
    error_message = "name must be 3-40 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "package_path" {
  description = "Path of the ETL deployment zip built outside Terraform (build/lambda/etl.zip)."
  type        = string
  nullable    = false
}

variable "package_hash" {
  description = "Base64 SHA-256 of the zip (build/lambda/etl.zip.b64sha256), used as source_code_hash. Both are checked by modules/internal/lambda_function (package.path, package.hash)."
  type        = string
  nullable    = false
}

variable "vpc" {
  description = "Where the function runs: private subnets (no NAT), the S3 gateway endpoint's prefix list and the interface endpoints' security group (SSM)."
  type = object({
    vpc_id                      = string
    subnet_ids                  = list(string)
    s3_prefix_list_id           = string
    endpoints_security_group_id = string
  })
  nullable = false
  validation {
    condition     = length(var.vpc.subnet_ids) >= 1 && startswith(var.vpc.vpc_id, "vpc-")
    error_message = "vpc.vpc_id must be a VPC id (vpc-...) and vpc.subnet_ids must list at least one private subnet."
  }
  validation {
    condition     = startswith(var.vpc.s3_prefix_list_id, "pl-") && startswith(var.vpc.endpoints_security_group_id, "sg-")
    error_message = "vpc.s3_prefix_list_id must be a prefix list id (pl-...) and vpc.endpoints_security_group_id a security group id (sg-...)."
  }
}

variable "warehouse" {
  description = <<-EOT
    The PostgreSQL warehouse: its security group (the only 5432 egress target), address,
    database, ETL user, the SSM SecureString holding that user's password and the KMS key that
    parameter is encrypted with (password_kms_key_arn: the module grants the role kms:Decrypt
    on it through SSM only, so the caller does not patch the role). The host's CA
    certificate (PEM), published by the warehouse module to an SSM String parameter, is
    ca_parameter_name (DW_CA_PARAM) and ca_parameter_arn (the role may read exactly that
    parameter): give both or neither. sslmode defaults to verify-full when the CA is given and
    to prefer otherwise; verify-ca/verify-full need the CA, and a CA needs one of them.
  EOT
  type = object({
    security_group_id      = string
    host                   = string
    port                   = optional(number, 5432)
    database               = optional(string, "analytics")
    user                   = optional(string, "etl")
    password_parameter_arn = string
    password_kms_key_arn   = string
    sslmode                = optional(string)
    ca_parameter_name      = optional(string)
    ca_parameter_arn       = optional(string)
  })
  nullable = false
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/.+$", var.warehouse.password_parameter_arn))
    error_message = "warehouse.password_parameter_arn must be the ARN of one SSM parameter (arn:aws:ssm:<region>:<account>:parameter/<name>)."
  }
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.warehouse.password_kms_key_arn))
    error_message = "warehouse.password_kms_key_arn must be the ARN of the KMS key encrypting the password parameter (the warehouse module's password_kms_key_arn output)."
  }
  validation {
    condition     = var.warehouse.port >= 1 && var.warehouse.port <= 65535 && startswith(var.warehouse.security_group_id, "sg-")
    error_message = "warehouse.port must be 1-65535 and warehouse.security_group_id a security group id (sg-...)."
  }
  validation {
    condition     = contains(["disable", "prefer", "require", "verify-ca", "verify-full"], coalesce(var.warehouse.sslmode, "prefer"))
    error_message = "warehouse.sslmode must be one of disable, prefer, require, verify-ca, verify-full."
  }
  validation {
    condition     = (var.warehouse.ca_parameter_name == null) == (var.warehouse.ca_parameter_arn == null)
    error_message = "warehouse.ca_parameter_name and warehouse.ca_parameter_arn go together (the warehouse module's ca_parameter_name and ca_parameter_arn outputs): give both or neither."
  }
  validation {
    condition     = var.warehouse.ca_parameter_arn == null || try(can(regex("^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/.+$", var.warehouse.ca_parameter_arn)) && endswith(var.warehouse.ca_parameter_arn, ":parameter/${trimprefix(var.warehouse.ca_parameter_name, "/")}"), false)
    error_message = "warehouse.ca_parameter_arn must be the ARN of the parameter named by warehouse.ca_parameter_name (arn:aws:ssm:<region>:<account>:parameter/<name without its leading />)."
  }
  validation {
    condition     = !contains(["verify-ca", "verify-full"], coalesce(var.warehouse.sslmode, "prefer")) || var.warehouse.ca_parameter_name != null
    error_message = "warehouse.sslmode verify-ca and verify-full check the server's certificate and need its CA: set warehouse.ca_parameter_name and ca_parameter_arn (the warehouse module's outputs)."
  }
  validation {
    condition     = var.warehouse.ca_parameter_name == null || contains(["verify-ca", "verify-full"], coalesce(var.warehouse.sslmode, "verify-full"))
    error_message = "warehouse.sslmode must be verify-full (the default with a CA) or verify-ca when the CA is given: disable, prefer and require would not check the server with it."
  }
}

variable "raw" {
  description = "The raw events bucket the function reads, its KMS key and the key prefix (RAW_PREFIX)."
  type = object({
    bucket_name = string
    kms_key_arn = string
    prefix      = optional(string, "events/v1/")
  })
  nullable = false
  validation {
    condition     = can(regex("^([a-z0-9][a-z0-9-]*/)+$", var.raw.prefix))
    error_message = "raw.prefix must be lower-case path segments ending in '/', e.g. events/v1/."
  }
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.raw.kms_key_arn))
    error_message = "raw.kms_key_arn must be a KMS key ARN."
  }
}

variable "schedule_expression" {
  description = "EventBridge schedule of the runs, rate(...) or cron(...)."
  type        = string
  nullable    = false
  default     = "rate(15 minutes)"
  validation {
    condition     = can(regex("^(rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|cron\\(.+\\))$", var.schedule_expression))
    error_message = "schedule_expression must be rate(<n> minutes|hours|days) or cron(...)."
  }
}

variable "lambda" {
  description = <<-EOT
    Function settings. timeout is the hard limit; the ETL stops taking work safety_ms before it
    and resumes next run. reserved_concurrency is off (null) by default: runs never overlap
    because each takes the warehouse's lock lease (a run that finds it taken returns
    "skipped"), and AWS refuses any reservation on an account whose concurrency quota is 10 (a
    new account). Set it to 1 to also cap the function where the quota allows (it must leave
    min(100, quota) executions unreserved; `make preflight` checks it); more than a few only
    takes capacity from other functions, hence the upper bound of 10. memory_size (2304 MB,
    about 1.30 vCPU) is set from the measured CPU per event: see "Memory and vCPUs" in the
    README. memory_size, timeout and reserved_concurrency go to modules/internal/lambda_function
    as they are.
  EOT
  type = object({
    memory_size          = optional(number, 2304)
    timeout              = optional(number, 900)
    safety_ms            = optional(number, 60000)
    lookback_days        = optional(number, 2)
    batch_max_events     = optional(number, 50000)
    workers              = optional(number, 8)
    reserved_concurrency = optional(number)
  })
  nullable = false
  default  = {}
  validation {
    condition     = var.lambda.timeout >= 60 && var.lambda.timeout <= 900 && var.lambda.safety_ms < var.lambda.timeout * 1000
    error_message = "lambda.timeout must be 60-900 seconds and lambda.safety_ms smaller than the timeout."
  }
  validation {
    condition     = var.lambda.memory_size >= 256 && var.lambda.memory_size <= 10240
    error_message = "lambda.memory_size must be 256-10240 MB."
  }
  validation {
    # try(): Terraform 1.11 evaluates both sides of ||, and a comparison with null is an error.
    condition     = var.lambda.reserved_concurrency == null || try(var.lambda.reserved_concurrency >= 1 && var.lambda.reserved_concurrency <= 10 && floor(var.lambda.reserved_concurrency) == var.lambda.reserved_concurrency, false)
    error_message = "lambda.reserved_concurrency must be null (no reservation, the default; the warehouse lock keeps runs apart) or a whole number between 1 and 10 (0 would stop the ETL; runs are single-flight, so more only takes capacity from other functions)."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group."
  type        = number
  nullable    = false
  default     = 365
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, ..., 365, ... 3653)."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key encrypting the function's log group. Its key policy must let logs.<region>.amazonaws.com use it for this log group (/aws/lambda/<name>-etl). null (the default) has the module create a dedicated key with rotation and such a policy."
  type        = string
  default     = null
  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}$", var.kms_key_arn))
    error_message = "kms_key_arn must be null (the module creates a key) or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>)."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the module-created log key is deleted after a destroy (7-30 days); unused when kms_key_arn is given."
  type        = number
  default     = 30
  nullable    = false
  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "alarm_actions" {
  description = "SNS topic ARNs notified when the function errors or a failed run lands in the queue."
  type        = list(string)
  nullable    = false
  default     = []
}

variable "tags" {
  description = "Tags merged into every taggable resource."
  type        = map(string)
  nullable    = false
  default     = {}
}
