variable "name" {
  description = "Name prefix of every resource of this environment."
  type        = string
  default     = "clickstream-local"
  nullable    = false
}

variable "region" {
  description = "Region of the provider (the emulator accepts any)."
  type        = string
  default     = "us-east-1"
  nullable    = false
}

variable "ingest_package_path" {
  description = "build/lambda/ingest.zip (clickstream.build.build_lambda(\"ingest\"))."
  type        = string
  nullable    = false
}

variable "ingest_package_hash" {
  description = "Base64 SHA-256 of the ingest zip (build/lambda/ingest.zip.b64sha256)."
  type        = string
  nullable    = false
}

variable "etl_package_path" {
  description = "build/lambda/etl.zip (clickstream.build.build_lambda(\"etl\"))."
  type        = string
  nullable    = false
}

variable "etl_package_hash" {
  description = "Base64 SHA-256 of the ETL zip (build/lambda/etl.zip.b64sha256)."
  type        = string
  nullable    = false
}

variable "allowed_app_ids" {
  description = "app_id values the ingest API accepts."
  type        = list(string)
  default     = ["shop-web"]
  nullable    = false
}

variable "cors_allow_origins" {
  description = "Origins the demo shop is served from (the tracker posts cross-origin)."
  type        = list(string)
  default     = ["http://127.0.0.1:8000", "http://localhost:8000"]
  nullable    = false
}

variable "ami_id" {
  description = "Image of the two database hosts; null looks up an Amazon Linux x86_64 image the emulator knows (the SSM public parameter does not exist there)."
  type        = string
  default     = null
}

variable "repo_root" {
  description = "Repository root the builds (build/lambda, build/hosts) are read from; null means two levels above this folder. Tests pass it because they run a copy of the Terraform tree."
  type        = string
  default     = null
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
