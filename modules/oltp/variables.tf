# The OLTP host's inputs. What every PostgreSQL host shares is validated once, in
# modules/postgres_host (an error there names ../postgres_host/variables.tf). Unlike the
# warehouse, the shop's database may have no client yet: both client inputs default to none.

variable "name" {
  description = "Name prefix of every resource (3-32 lowercase letters, digits and hyphens); the OLTP host's resources are named <name>-oltp and its parameters live under /<name>/oltp/."
  type        = string
  nullable    = false
}

variable "vpc_id" {
  description = "VPC of the OLTP host (network module output vpc_id)."
  type        = string
  nullable    = false
}

variable "subnet_id" {
  description = "Data-tier subnet of the host (network module output data_subnet_ids): its own tier, apart from the analytics subnets; no route to the internet, S3 through the Gateway endpoint."
  type        = string
  nullable    = false
}

variable "availability_zone" {
  description = "Availability zone of the data-tier subnet; the data volume is created in it."
  type        = string
  nullable    = false
}

variable "client_security_groups" {
  description = "Security groups of the shop's application tier allowed to reach PostgreSQL (5432), keyed by a static label. Empty (the default) admits nothing; administration is Session Manager only. Never pass the analytics tier's groups: the OLTP database is not reachable from it."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "client_cidrs" {
  description = "Address ranges pg_hba.conf accepts TLS logins of the owner from (the application tier's subnets), none wider than /16. Empty (the default): local connections only."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "s3_prefix_list_id" {
  description = "S3 prefix list of the region (endpoints module output s3_prefix_list_id): with the endpoints' group, the only egress of the OLTP host (443)."
  type        = string
  nullable    = false
}

variable "endpoints_security_group_id" {
  description = "Security group of the SSM interface endpoints (endpoints module output security_group_id), reached on 443."
  type        = string
  nullable    = false
}

variable "instance_type" {
  description = "Instance type of the OLTP host: an x86_64 Nitro family (the bundle is built for x86_64)."
  type        = string
  default     = "t3.medium"
  nullable    = false
}

variable "ami" {
  description = "Image of the host, Amazon Linux 2023 x86_64, as modules/postgres_host's `ami` takes it: a pinned `id`, or `{}` to read the public SSM parameter of the latest AL2023 image. A new image replaces the instance, not the data volume."
  type        = any
  default     = {}
  nullable    = false
}

variable "data_volume" {
  description = "Encrypted gp3 volume of the shop's PostgreSQL cluster, kept across instance replacements (modules/postgres_host's `data_volume`); 50 GiB unless size_gib says otherwise."
  type        = any
  default     = {}
  nullable    = false
}

variable "root_volume_size_gib" {
  description = "Encrypted gp3 root volume of the OLTP host, in GiB."
  type        = number
  default     = 20
  nullable    = false
}

variable "detailed_monitoring" {
  description = "Detailed (one-minute) monitoring of the instance; on except in the emulator, which lacks MonitorInstances."
  type        = bool
  default     = true
  nullable    = false
}

variable "kms_key_arn" {
  description = "KMS key encrypting the volumes and the password parameter. Null creates a dedicated key with rotation (separate from the warehouse key: the analytics tier gets no grant on it)."
  type        = string
  default     = null
}

variable "bundle" {
  description = <<-EOT
    Where the OLTP host boots from: its bundle (`make host-bundle` -> build/hosts/oltp.tar.gz)
    in the artifacts bucket, as modules/postgres_host's `bundle` types and validates it. The
    key is `oltp/bundles/oltp-<sha256>.tar.gz`; the shop database's nightly dumps go under
    `backup_prefix`, `backups/oltp/` when left out. A new bundle boots a new instance on the
    same data volume.
  EOT
  type        = any
  nullable    = false
}

variable "database" {
  description = "The shop's database: its name and the owner role the shop's application logs in as (password generated into SSM), work_mem in MiB and max_connections (many short transactions: more connections, less memory each than the warehouse)."
  type = object({
    name            = optional(string, "shop")
    admin_user      = optional(string, "shop_app")
    work_mem_mib    = optional(number, 8)
    max_connections = optional(number, 200)
  })
  default  = {}
  nullable = false
}

variable "backup" {
  description = "The nightly pg_dump of the shop database (to <bundle.backup_prefix>): modules/postgres_host's `backup` object; left out, the timer is on at 03:15 UTC."
  type        = any
  default     = {}
  nullable    = false
}

variable "password_version" {
  description = "Bump to rotate the generated owner password (value_wo_version); the host reads the new one at its next bootstrap."
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
