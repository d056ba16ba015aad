variable "environment" {
  description = "Environment name (dev or prod): part of every name and tag."
  type        = string
  nullable    = false
  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "region" {
  description = "AWS region of the environment."
  type        = string
  nullable    = false
}

variable "vpc_cidr" {
  description = "CIDR of the environment's VPC."
  type        = string
  nullable    = false
}

variable "availability_zones" {
  description = "Two or more availability zones of the region."
  type        = list(string)
  nullable    = false
}

variable "ingest_package_path" {
  description = "Ingest Lambda zip; null uses build/lambda/ingest.zip (`make build`)."
  type        = string
  default     = null
}

variable "ingest_package_hash" {
  description = "Base64 SHA-256 of the ingest zip; null reads build/lambda/ingest.zip.b64sha256."
  type        = string
  default     = null
}

variable "etl_package_path" {
  description = "ETL Lambda zip; null uses build/lambda/etl.zip (`make build`)."
  type        = string
  default     = null
}

variable "etl_package_hash" {
  description = "Base64 SHA-256 of the ETL zip; null reads build/lambda/etl.zip.b64sha256."
  type        = string
  default     = null
}

variable "repo_root" {
  description = "Repository root the builds (build/lambda, build/hosts) are read from; null means two levels above this folder."
  type        = string
  default     = null
}

variable "allowed_app_ids" {
  description = "app_id values the ingest API accepts."
  type        = list(string)
  default     = ["shop-web"]
  nullable    = false
}

variable "shop_origins" {
  description = "HTTPS origins of the shop (CORS of the ingest API). An Amplify default-domain origin must be the served branch's, https://<frontend.branch>.<app id>.amplifyapp.com (validated: the tracker's requests from any other branch's site would be refused)."
  type        = list(string)
  nullable    = false
  validation {
    # Amplify serves branch "feature/x" at https://feature-x.<app id>.amplifyapp.com.
    condition = alltrue([
      for o in var.shop_origins :
      !endswith(lower(o), ".amplifyapp.com") || startswith(lower(o), "https://${replace(lower(var.frontend.branch), "/", "-")}.")
    ])
    error_message = "shop_origins: an *.amplifyapp.com origin must be the deployed branch's, https://<frontend.branch>.<app id>.amplifyapp.com (with / in the branch name as -); otherwise the ingest API's CORS refuses the shop Amplify serves."
  }
}

variable "ami_id" {
  description = "Pinned AMI of the database hosts; null follows the AL2023 SSM public parameter (pin it in prod)."
  type        = string
  default     = null
}

variable "sizes" {
  description = "Instance types and data volume sizes of the two database hosts, and the ETL Lambda memory."
  type = object({
    warehouse_instance_type = string
    warehouse_data_gib      = number
    oltp_instance_type      = string
    oltp_data_gib           = number
    etl_memory_mb           = number
  })
  nullable = false
}

variable "retention" {
  description = "Retention in days: Lambda and flow logs (CloudWatch values), database dumps."
  type = object({
    log_days    = number
    backup_days = number
  })
  nullable = false
}

variable "deletion_protection" {
  description = "Protect what holds customer data: the Cognito user pool, and buckets that refuse to be destroyed with objects in them."
  type        = bool
  nullable    = false
}

variable "alarms" {
  description = "Alarm notifications: an SNS topic (KMS-encrypted) receiving ETL failures and host status-check alarms, with an optional e-mail subscription."
  type = object({
    enabled = bool
    email   = optional(string)
  })
  nullable = false
  validation {
    condition     = var.alarms.email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarms.email))
    error_message = "alarms.email must be null or an e-mail address."
  }
}

variable "frontend" {
  description = "The shop's front end: Git repository, SSM parameter holding the Git token, branch, Cognito callback/logout URLs, hosted UI domain prefix and e-mail sender (email: an SES identity; {} is Cognito's default sender, limited to 50 e-mails a day)."
  type = object({
    repository                  = string
    access_token_parameter_name = string
    branch                      = optional(string, "main")
    callback_urls               = list(string)
    logout_urls                 = optional(list(string), [])
    domain_prefix               = optional(string)
    threat_protection           = optional(string, "ENFORCED")
    user_pool_tier              = optional(string, "PLUS")
    # Cognito's e-mail sender (modules/frontend var.email): {} is Cognito's own, 50 a day.
    email = optional(object({
      source_arn = optional(string)
      from       = optional(string)
      reply_to   = optional(string)
    }), {})
  })
  nullable = false
  validation {
    condition = alltrue([
      for u in concat(var.frontend.callback_urls, var.frontend.logout_urls) :
      !can(regex("^https://[^/]+\\.amplifyapp\\.com(/|$)", lower(u))) || startswith(lower(u), "https://${replace(lower(var.frontend.branch), "/", "-")}.")
    ])
    error_message = "frontend.callback_urls and logout_urls on *.amplifyapp.com must be on the deployed branch's host, https://<frontend.branch>.<app id>.amplifyapp.com/...; Cognito would refuse the sign-in redirect of the site Amplify serves."
  }
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency of the ingest and ETL functions; null (the default for both) reserves nothing. AWS refuses a reservation that leaves fewer than min(100, quota) executions unreserved, and a new account's \"Concurrent executions\" quota is 10, so set one only after raising that quota (`make preflight ENV=<env>` checks it). The ETL never overlaps without one (advisory lock)."
  type = object({
    ingest = optional(number)
    etl    = optional(number)
  })
  default  = {}
  nullable = false
  validation {
    condition     = alltrue([for v in [var.lambda_reserved_concurrency.ingest, var.lambda_reserved_concurrency.etl] : v == null || try(v >= 1 && floor(v) == v, false)])
    error_message = "lambda_reserved_concurrency.ingest and .etl must each be null (no reservation) or a whole number of at least 1 (ingest up to 1000, etl up to 10); 0 would stop the function."
  }
}

variable "host_bundles" {
  description = "The database hosts' bundles (docs/hosts.md): per role, the tarball's `path` and its hex `sha256`. A role left out uses build/hosts/<role>.tar.gz under repo_root and the hash in <role>.tar.gz.sha256 beside it, as `make host-bundle` writes them."
  type = object({
    warehouse = optional(object({ path = string, sha256 = string }))
    oltp      = optional(object({ path = string, sha256 = string }))
  })
  default  = {}
  nullable = false
  validation {
    condition = alltrue([
      for role, b in var.host_bundles : b != null || try(
        filesha256("${coalesce(var.repo_root, abspath("${path.root}/../.."))}/build/hosts/${role}.tar.gz") == trimspace(file("${coalesce(var.repo_root, abspath("${path.root}/../.."))}/build/hosts/${role}.tar.gz.sha256")),
        false,
      )
    ])
    error_message = "No usable host bundle in ${coalesce(var.repo_root, abspath("${path.root}/../.."))}/build/hosts/ (<role>.tar.gz missing, or not matching <role>.tar.gz.sha256): run `make host-bundle`, or pass host_bundles = { <role> = { path, sha256 } }."
  }
  validation {
    condition     = alltrue([for role, b in var.host_bundles : b == null ? true : try(filesha256(b.path) == b.sha256, false)])
    error_message = "Each host_bundles.<role>.sha256 must be the hex SHA-256 of the file at its path."
  }
}
