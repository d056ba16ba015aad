# The platform's inputs. Defaults are what every environment shares (dev's sizes, logs kept a
# year, 7 days of dumps, no alarms, no deletion protection); an env's terraform.tfvars states
# only how it differs. Every object is typed with optional() attributes, so a tfvars may set
# one attribute and keep the others' defaults.

variable "name" {
  description = "Name prefix of every resource (clickstream-dev, clickstream-prod, clickstream-local): part of bucket, function, role and parameter names."
  type        = string
  nullable    = false
  validation {
    # Bucket names add up to 27 characters to it (-artifacts-<account id>, -access-logs...).
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "emulator" {
  description = "The target is the AWS emulator (envs/local), which lacks some APIs: the hosts run without detailed monitoring (no MonitorInstances), their image is looked up with DescribeImages when ami_id is null (no SSM public AMI parameter), and the front end is refused (no Amplify)."
  type        = bool
  default     = false
  nullable    = false
}

variable "network" {
  description = "The VPC: its CIDR and two or more availability zones of the provider's region (both database hosts run in the first)."
  type = object({
    vpc_cidr           = optional(string, "10.20.0.0/16")
    availability_zones = list(string)
  })
  nullable = false
  validation {
    condition     = can(cidrnetmask(var.network.vpc_cidr)) && try(tonumber(split("/", var.network.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.network.vpc_cidr)[1]) <= 20, false)
    error_message = "network.vpc_cidr must be an IPv4 CIDR from /16 to /20 (the network module cuts a quarter per tier and a /24-sized share per zone out of it: AWS subnets are /28 at least)."
  }
  validation {
    condition     = length(var.network.availability_zones) >= 2 && length(distinct(var.network.availability_zones)) == length(var.network.availability_zones) && alltrue([for z in var.network.availability_zones : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$", z))])
    error_message = "network.availability_zones must list at least two distinct zone names (eu-central-1a, ...)."
  }
}

variable "packages" {
  description = "The Lambda zips (`make build`): per function a `path` (null: build/lambda/<fn>.zip under repo_root) and its base64 SHA-256 `hash` (null: read from <path>.b64sha256 beside the zip)."
  type = object({
    ingest  = optional(object({ path = optional(string), hash = optional(string) }), {})
    etl     = optional(object({ path = optional(string), hash = optional(string) }), {})
    batcher = optional(object({ path = optional(string), hash = optional(string) }), {})
  })
  default  = {}
  nullable = false
  validation {
    condition     = alltrue([for p in [var.packages.ingest, var.packages.etl, var.packages.batcher] : p.path == null ? true : endswith(p.path, ".zip")])
    error_message = "packages.<fn>.path must be null (build/lambda/<fn>.zip) or the path of a .zip file."
  }
  validation {
    condition     = alltrue([for p in [var.packages.ingest, var.packages.etl, var.packages.batcher] : p.hash == null ? true : can(regex("^[A-Za-z0-9+/]{43}=$", p.hash))])
    error_message = "packages.<fn>.hash must be null (read from <path>.b64sha256) or a base64-encoded SHA-256 (44 characters ending in '=')."
  }
}

variable "repo_root" {
  description = "Repository root the builds (build/lambda, build/hosts) are read from; null means two levels above this module. Tests pass it because they run a copy of the Terraform tree."
  type        = string
  default     = null
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
        filesha256("${coalesce(var.repo_root, abspath("${path.module}/../.."))}/build/hosts/${role}.tar.gz") == trimspace(file("${coalesce(var.repo_root, abspath("${path.module}/../.."))}/build/hosts/${role}.tar.gz.sha256")),
        false,
      )
    ])
    error_message = "No usable host bundle in ${coalesce(var.repo_root, abspath("${path.module}/../.."))}/build/hosts/ (<role>.tar.gz missing, or not matching <role>.tar.gz.sha256): run `make host-bundle`, or pass host_bundles = { <role> = { path, sha256 } }."
  }
  validation {
    condition     = alltrue([for role, b in var.host_bundles : b == null ? true : try(filesha256(b.path) == b.sha256, false)])
    error_message = "Each host_bundles.<role>.sha256 must be the hex SHA-256 of the file at its path."
  }
}

variable "allowed_app_ids" {
  description = "app_id values the ingest API accepts; the first is the front end's."
  type        = list(string)
  default     = ["shop-web"]
  nullable    = false
}

variable "shop_origins" {
  description = "Origins the shop is served from (CORS of the ingest API: the tracker posts cross-origin). An Amplify default-domain origin must be the served branch's, https://<frontend.branch>.<app id>.amplifyapp.com (validated: the tracker's requests from any other branch's site would be refused)."
  type        = list(string)
  nullable    = false
  validation {
    # Amplify serves branch "feature/x" at https://feature-x.<app id>.amplifyapp.com.
    condition = var.frontend == null ? true : alltrue([
      for o in var.shop_origins :
      !endswith(lower(o), ".amplifyapp.com") || startswith(lower(o), "https://${replace(lower(var.frontend.branch), "/", "-")}.")
    ])
    error_message = "shop_origins: an *.amplifyapp.com origin must be the deployed branch's, https://<frontend.branch>.<app id>.amplifyapp.com (with / in the branch name as -); otherwise the ingest API's CORS refuses the shop Amplify serves."
  }
}

variable "ami_id" {
  description = "Pinned AMI of the database hosts (pin it in prod); null follows the AL2023 SSM public parameter, or in the emulator looks up an Amazon Linux x86_64 image it knows."
  type        = string
  default     = null
}

variable "sizes" {
  description = "Instance types and data volume sizes (GiB) of the two database hosts, and the ETL Lambda's memory (MB)."
  type = object({
    warehouse_instance_type = optional(string, "t3.large")
    warehouse_data_gib      = optional(number, 50)
    oltp_instance_type      = optional(string, "t3.medium")
    oltp_data_gib           = optional(number, 20)
    etl_memory_mb           = optional(number, 2304)
  })
  default  = {}
  nullable = false
  # The ranges and the x86_64 families are checked by the modules that use the values
  # (postgres_host, etl); here only what is not a size at all.
  validation {
    condition     = alltrue([for t in [var.sizes.warehouse_instance_type, var.sizes.oltp_instance_type] : can(regex("^[a-z][a-z0-9-]*[0-9][a-z-]*\\.[a-z0-9]+$", t))])
    error_message = "sizes.warehouse_instance_type and sizes.oltp_instance_type must be EC2 instance types, family.size (t3.large, r6i.xlarge)."
  }
  validation {
    condition     = alltrue([for n in [var.sizes.warehouse_data_gib, var.sizes.oltp_data_gib, var.sizes.etl_memory_mb] : n >= 1 && floor(n) == n])
    error_message = "sizes.warehouse_data_gib, sizes.oltp_data_gib (GiB) and sizes.etl_memory_mb (MB) must be positive whole numbers."
  }
}

variable "retention" {
  description = "Retention in days: CloudWatch logs of the Lambdas, the API and the flow logs (a CloudWatch retention value; a year is what the security gate asks for), and database dumps in the artifacts bucket."
  type = object({
    log_days    = optional(number, 365)
    backup_days = optional(number, 7)
  })
  default  = {}
  nullable = false
  validation {
    # The exact CloudWatch values and the dump range are checked by the modules that use them.
    condition     = var.retention.log_days >= 1 && floor(var.retention.log_days) == var.retention.log_days
    error_message = "retention.log_days must be a positive whole number of days (a CloudWatch Logs retention value: 1, 3, 5, 7, 14, 30, ..., 365, ..., 3653)."
  }
  validation {
    condition     = var.retention.backup_days >= 1 && floor(var.retention.backup_days) == var.retention.backup_days
    error_message = "retention.backup_days must be a positive whole number of days (up to 3650)."
  }
}

variable "deletion_protection" {
  description = "Protect what holds customer data: the Cognito user pool, and buckets that refuse to be destroyed with objects in them."
  type        = bool
  default     = false
  nullable    = false
}

variable "alarms" {
  description = "Alarm notifications: an SNS topic (encrypted with a key of its own) receiving ETL failures and host status-check alarms, with an optional e-mail subscription."
  type = object({
    enabled = optional(bool, false)
    email   = optional(string)
  })
  default  = {}
  nullable = false
  validation {
    condition     = var.alarms.email == null ? true : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarms.email))
    error_message = "alarms.email must be null or an e-mail address."
  }
  validation {
    condition     = var.alarms.email == null || var.alarms.enabled
    error_message = "alarms.email needs alarms.enabled = true: without the topic nobody would be subscribed."
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

variable "frontend" {
  description = "The shop's front end (Amplify app and Cognito user pool), or null for none (the emulator has no Amplify): Git repository, SSM parameter holding the Git token, branch, Cognito callback/logout URLs, hosted UI domain prefix and e-mail sender (email: an SES identity; {} is Cognito's default sender, limited to 50 e-mails a day)."
  type = object({
    repository                  = string
    access_token_parameter_name = string
    branch                      = optional(string, "main")
    callback_urls               = list(string)
    logout_urls                 = optional(list(string), [])
    domain_prefix               = optional(string)
    threat_protection           = optional(string, "ENFORCED")
    user_pool_tier              = optional(string, "PLUS")
    email = optional(object({
      source_arn = optional(string)
      from       = optional(string)
      reply_to   = optional(string)
    }), {})
  })
  default = null
  validation {
    condition     = !(var.emulator && var.frontend != null)
    error_message = "frontend must be null with emulator = true: the emulator has no Amplify."
  }
  validation {
    condition = var.frontend == null ? true : alltrue([
      for u in concat(var.frontend.callback_urls, var.frontend.logout_urls) :
      !can(regex("^https://[^/]+\\.amplifyapp\\.com(/|$)", lower(u))) || startswith(lower(u), "https://${replace(lower(var.frontend.branch), "/", "-")}.")
    ])
    error_message = "frontend.callback_urls and logout_urls on *.amplifyapp.com must be on the deployed branch's host, https://<frontend.branch>.<app id>.amplifyapp.com/...; Cognito would refuse the sign-in redirect of the site Amplify serves."
  }
}
