# The warehouse's inputs. What every PostgreSQL host shares is validated once, in
# modules/postgres_host (an error there names ../postgres_host/variables.tf); what is the
# warehouse's own (it needs its loader, it runs the dashboards) is validated here.

variable "name" {
  description = "Name prefix of every resource (3-32 lowercase letters, digits and hyphens); the warehouse's resources are named <name>-dw and its parameters live under /<name>/dw/."
  type        = string
  nullable    = false
}

variable "vpc_id" {
  description = "VPC of the warehouse (network module output vpc_id)."
  type        = string
  nullable    = false
}

variable "subnet_id" {
  description = "Private (analytics) subnet of the warehouse, beside the ETL Lambda: no route to the internet, S3 through the Gateway endpoint (network module output private_subnet_ids)."
  type        = string
  nullable    = false
}

variable "availability_zone" {
  description = "Availability zone of subnet_id (the data volume is created there)."
  type        = string
  nullable    = false
}

variable "ami" {
  description = "Amazon Linux 2023 x86_64 image, passed to modules/postgres_host as is (see its `ami`): `{ id = \"ami-...\" }` pins one (do that in prod), `{}` follows the public SSM parameter of the latest al2023-ami-kernel-default-x86_64. A new image replaces the instance; the data volume is kept."
  type        = any
  default     = {}
  nullable    = false
}

variable "instance_type" {
  description = "Instance type of the warehouse (x86_64 Nitro families only: the bundle's wheels are x86_64). PostgreSQL's memory settings follow the instance's memory."
  type        = string
  default     = "t3.large"
  nullable    = false
}

variable "detailed_monitoring" {
  description = "One-minute CloudWatch metrics for the instance. Keep it on; only emulator runs turn it off (moto does not implement MonitorInstances)."
  type        = bool
  default     = true
  nullable    = false
}

variable "root_volume_size_gib" {
  description = "Size of the encrypted gp3 root volume in GiB (OS, packages, unpacked bundles, the dashboards' venv)."
  type        = number
  default     = 20
  nullable    = false
}

variable "data_volume" {
  description = "Encrypted gp3 volume holding the warehouse's PostgreSQL cluster; it outlives instance replacements. `{ size_gib, iops, throughput }` as in modules/postgres_host's `data_volume`, with 100 GiB for the warehouse when size_gib is left out."
  type        = any
  default     = {}
  nullable    = false
}

variable "kms_key_arn" {
  description = "KMS key encrypting the volumes and the password parameter. Null creates a dedicated key with rotation; the ETL gets kms:Decrypt on it through SSM (the kms_key_arn output)."
  type        = string
  default     = null
}

variable "client_security_groups" {
  description = "Security groups allowed to reach PostgreSQL (5432), keyed by a static label (e.g. { etl = <ETL Lambda SG id> }): a map so plans work while the IDs are still unknown. Nothing else is admitted inbound; administration is Session Manager only."
  type        = map(string)
  nullable    = false
  validation {
    condition     = length(var.client_security_groups) >= 1
    error_message = "client_security_groups must map at least one label to a security group ID (the warehouse has no purpose without its loader)."
  }
}

variable "client_cidrs" {
  description = "Address ranges pg_hba.conf accepts TLS logins of the owner from (the private subnets of the ETL Lambda). Defence in depth behind the security group; none wider than /16."
  type        = list(string)
  nullable    = false
  validation {
    condition     = length(var.client_cidrs) >= 1
    error_message = "client_cidrs must list the ETL's subnets (at least one CIDR): the loader connects over TCP."
  }
}

variable "s3_prefix_list_id" {
  description = "Prefix list of S3 in the region (endpoints module output s3_prefix_list_id): the warehouse's only egress besides the interface endpoints, on 443."
  type        = string
  nullable    = false
}

variable "endpoints_security_group_id" {
  description = "Security group of the interface endpoints (endpoints module output security_group_id): the warehouse may open 443 to it."
  type        = string
  nullable    = false
}

variable "bundle" {
  description = <<-EOT
    The warehouse bundle (`make host-bundle` -> build/hosts/warehouse.tar.gz, docs/hosts.md) as
    uploaded to the artifacts bucket, passed to modules/postgres_host's `bundle` (its type and
    validation): `{ bucket_name, bucket_arn, kms_key_arn, key, sha256, backup_prefix }`, where
    `key` is `dw/bundles/warehouse-<sha256>.tar.gz`, `sha256` the hex in
    build/hosts/warehouse.tar.gz.sha256 and `backup_prefix` (default `backups/dw/`) receives the
    nightly dumps. A new bundle boots a new instance on the same data volume.
  EOT
  type        = any
  nullable    = false
}

variable "database" {
  description = "The warehouse database: its name, the owner role the ETL logs in as (password generated into SSM), the dashboards' read-only login (member of dw_reader, peer auth over the local socket), work_mem in MiB and max_connections."
  type = object({
    name            = optional(string, "clickstream")
    admin_user      = optional(string, "dw_admin")
    dashboard_user  = optional(string, "shiny")
    work_mem_mib    = optional(number, 16)
    max_connections = optional(number, 100)
  })
  default  = {}
  nullable = false
}

variable "shiny" {
  description = "The Shiny for Python dashboards: the port they bind on 127.0.0.1, reached with SSM port forwarding (the shiny_port_forward_command output). The app and its Python (python3.11) come with the bundle."
  type = object({
    port = optional(number, 8080)
  })
  default  = {}
  nullable = false
}

variable "backup" {
  description = "Nightly pg_dump of the warehouse to s3://<bucket>/<bundle.backup_prefix>, as modules/postgres_host's `backup`: `{ enabled = true, on_calendar = \"*-*-* 03:15:00\" }` (UTC) when left out."
  type        = any
  default     = {}
  nullable    = false
}

variable "password_version" {
  description = "Version of the generated owner password (value_wo_version). Increase it to rotate; the warehouse picks up the new one at its next bootstrap."
  type        = number
  default     = 1
  nullable    = false
}

variable "tags" {
  description = "Tags merged into every taggable resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
