variable "name" {
  description = "Name prefix of every resource. Lowercase letters, digits and hyphens, 3-32 characters, starting with a letter."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "vpc_id" {
  description = "VPC of the host (network module output vpc_id)."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID such as vpc-0123456789abcdef0."
  }
}

variable "subnet_id" {
  description = "Private (analytics) subnet of the host: no route to the internet, S3 through the Gateway endpoint."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^subnet-[0-9a-f]{8,17}$", var.subnet_id))
    error_message = "subnet_id must be a subnet ID such as subnet-0123456789abcdef0."
  }
}

variable "availability_zone" {
  description = "Availability zone of subnet_id; the data volume must live in the same zone as the instance."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-\\d[a-z]$", var.availability_zone))
    error_message = "availability_zone must be a zone name such as us-east-1a."
  }
}

variable "ami" {
  description = "Amazon Linux 2023 image: an explicit id (pin it in prod for reproducible hosts), or the SSM public parameter that names the latest one. A new image replaces the instance; the data volume is kept."
  type = object({
    id                 = optional(string)
    ssm_parameter_name = optional(string, "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")
  })
  default  = {}
  nullable = false
  validation {
    condition     = var.ami.id == null || can(regex("^ami-[0-9a-f]{8,17}$", var.ami.id))
    error_message = "ami.id must be null or an AMI ID such as ami-0123456789abcdef0."
  }
  validation {
    condition     = can(regex("^/aws/service/ami-amazon-linux-latest/al2023-ami-[a-z0-9.-]+-x86_64$", var.ami.ssm_parameter_name))
    error_message = "ami.ssm_parameter_name must be an Amazon Linux 2023 x86_64 public parameter such as /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64 (the cloud-init uses dnf and AL2023 package names)."
  }
}

variable "instance_type" {
  description = "EC2 instance type (x86_64, Nitro: the data volume is found through its /dev/sdf NVMe alias). PostgreSQL memory settings are derived from the instance's memory at boot."
  type        = string
  default     = "t3.large"
  nullable    = false
  validation {
    condition     = can(regex("^(t3|t3a|m5|m5a|m6i|m6a|m7i|m7a|r5|r5a|r6i|r6a|r7i|r7a|c5|c6i|c7i)\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must be an x86_64 Nitro family (t3, t3a, m5, m5a, m6i, m6a, m7i, m7a, r5, r5a, r6i, r6a, r7i, r7a, c5, c6i, c7i), e.g. t3.large."
  }
}

variable "detailed_monitoring" {
  description = "One-minute CloudWatch metrics for the instance. Keep it on; only emulator runs turn it off (moto does not implement MonitorInstances)."
  type        = bool
  default     = true
  nullable    = false
}

variable "root_volume_size_gib" {
  description = "Size of the encrypted gp3 root volume in GiB (OS, venv, packages)."
  type        = number
  default     = 20
  nullable    = false
  validation {
    condition     = var.root_volume_size_gib >= 8 && var.root_volume_size_gib <= 1024 && floor(var.root_volume_size_gib) == var.root_volume_size_gib
    error_message = "root_volume_size_gib must be a whole number from 8 to 1024."
  }
}

variable "data_volume" {
  description = "Encrypted gp3 volume holding the PostgreSQL data directory; it outlives instance replacements. size_gib, iops (3000-16000) and throughput in MiB/s (125-1000)."
  type = object({
    size_gib   = optional(number, 100)
    iops       = optional(number, 3000)
    throughput = optional(number, 125)
  })
  default  = {}
  nullable = false
  validation {
    condition     = var.data_volume.size_gib >= 10 && var.data_volume.size_gib <= 16384 && floor(var.data_volume.size_gib) == var.data_volume.size_gib
    error_message = "data_volume.size_gib must be a whole number from 10 to 16384."
  }
  validation {
    condition     = var.data_volume.iops >= 3000 && var.data_volume.iops <= 16000 && var.data_volume.throughput >= 125 && var.data_volume.throughput <= 1000
    error_message = "data_volume.iops must be 3000-16000 and data_volume.throughput 125-1000 MiB/s (gp3 limits)."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the volumes and the password parameter. Null creates a dedicated key with rotation."
  type        = string
  default     = null
  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:key/[0-9a-f-]{36}$", var.kms_key_arn))
    error_message = "kms_key_arn must be null (the module creates a key) or a KMS key ARN."
  }
}

variable "client_security_groups" {
  description = "Security groups allowed to reach PostgreSQL (5432), keyed by a static label (e.g. { etl = <ETL Lambda SG id> }): a map so plans work while the IDs are still unknown. Nothing else is admitted inbound; administration is Session Manager only."
  type        = map(string)
  nullable    = false
  validation {
    condition     = length(var.client_security_groups) >= 1 && alltrue([for id in values(var.client_security_groups) : can(regex("^sg-[0-9a-f]{8,17}$", id))])
    error_message = "client_security_groups must map at least one label to a security group ID such as sg-0123456789abcdef0 (the warehouse has no purpose without its loader)."
  }
  validation {
    condition     = alltrue([for k in keys(var.client_security_groups) : can(regex("^[a-z][a-z0-9_-]{0,31}$", k))])
    error_message = "client_security_groups keys must be short lowercase labels such as etl."
  }
}

variable "client_cidrs" {
  description = "Address ranges pg_hba.conf accepts TLS connections from (the private subnets of the ETL Lambda). Defence in depth behind the security group; must not be wider than /16."
  type        = list(string)
  nullable    = false
  validation {
    condition = length(var.client_cidrs) >= 1 && alltrue([
      for c in var.client_cidrs :
      can(regex("^\\d+\\.\\d+\\.\\d+\\.\\d+/\\d+$", c)) && try(cidrsubnet(c, 0, 0) == c, false) && try(tonumber(split("/", c)[1]) >= 16, false)
    ])
    error_message = "client_cidrs must list IPv4 network addresses in CIDR notation no wider than /16 (0.0.0.0/0 is refused), e.g. 10.20.64.0/24."
  }
}

variable "s3_prefix_list_id" {
  description = "Prefix list of S3 in the region (endpoints module output s3_prefix_list_id): the host's only egress besides the interface endpoints, on 443."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^pl-[0-9a-f]{8,17}$", var.s3_prefix_list_id))
    error_message = "s3_prefix_list_id must be a prefix list ID such as pl-63a5400a."
  }
}

variable "endpoints_security_group_id" {
  description = "Security group of the interface endpoints (ssm, ssmmessages, ec2messages): the host may open 443 to it."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^sg-[0-9a-f]{8,17}$", var.endpoints_security_group_id))
    error_message = "endpoints_security_group_id must be a security group ID such as sg-0123456789abcdef0."
  }
}

variable "artifacts" {
  description = <<-EOT
    Where the host finds what it installs, in the artifacts bucket (artifacts module outputs):
    `prefix` holds `migrations/` (sql/dw files), `app/` (the Shiny app) and `wheels/` (every
    wheel the app and yoyo need, for pip --no-index); `backup_prefix` receives the nightly
    dumps. `revision` is an opaque hash of the artifacts' contents: when it changes the
    instance is replaced (the data volume is kept) and boots with the new files.
  EOT
  type = object({
    bucket_name   = string
    bucket_arn    = string
    kms_key_arn   = string
    prefix        = optional(string, "dw/")
    backup_prefix = optional(string, "backups/dw/")
    revision      = optional(string, "")
  })
  nullable = false
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.artifacts.bucket_name)) && var.artifacts.bucket_arn == "arn:${split(":", var.artifacts.bucket_arn)[1]}:s3:::${var.artifacts.bucket_name}"
    error_message = "artifacts.bucket_name must be a valid bucket name and artifacts.bucket_arn its ARN (arn:aws:s3:::<bucket_name>)."
  }
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:key/[0-9a-f-]{36}$", var.artifacts.kms_key_arn))
    error_message = "artifacts.kms_key_arn must be the KMS key ARN of the artifacts bucket."
  }
  validation {
    condition     = alltrue([for p in [var.artifacts.prefix, var.artifacts.backup_prefix] : can(regex("^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*/$", p))])
    error_message = "artifacts.prefix and artifacts.backup_prefix must be relative key prefixes of lowercase letters, digits, '_' and '-' segments ending in '/', e.g. dw/."
  }
  validation {
    condition     = !startswith(var.artifacts.backup_prefix, var.artifacts.prefix) && !startswith(var.artifacts.prefix, var.artifacts.backup_prefix)
    error_message = "artifacts.prefix and artifacts.backup_prefix must not overlap: the host reads one and only writes the other."
  }
  validation {
    condition     = can(regex("^[A-Za-z0-9]{0,64}$", var.artifacts.revision))
    error_message = "artifacts.revision must be an alphanumeric hash of at most 64 characters (e.g. sha256 hex)."
  }
}

variable "database" {
  description = "PostgreSQL settings: database name, the admin role the ETL logs in as (password generated into SSM), the dashboard role Shiny uses (peer auth over the local socket, member of dw_reader), work_mem in MiB and max_connections. Memory settings (shared_buffers 25%, effective_cache_size 75%, maintenance_work_mem RAM/16 up to 2 GiB) come from the instance's memory at boot."
  type = object({
    name            = optional(string, "clickstream")
    admin_user      = optional(string, "dw_admin")
    dashboard_user  = optional(string, "shiny")
    work_mem_mib    = optional(number, 16)
    max_connections = optional(number, 100)
  })
  default  = {}
  nullable = false
  validation {
    condition     = alltrue([for n in [var.database.name, var.database.admin_user, var.database.dashboard_user] : can(regex("^[a-z_][a-z0-9_]{0,62}$", n))]) && !contains(["postgres", "template0", "template1"], var.database.name) && var.database.admin_user != "postgres"
    error_message = "database.name, admin_user and dashboard_user must be lowercase SQL identifiers (letters, digits, '_', starting with a letter or '_', at most 63 characters) and not postgres/template0/template1."
  }
  validation {
    condition     = var.database.work_mem_mib >= 1 && var.database.work_mem_mib <= 2048 && var.database.max_connections >= 10 && var.database.max_connections <= 5000
    error_message = "database.work_mem_mib must be 1-2048 and database.max_connections 10-5000."
  }
}

variable "password_version" {
  description = "Version of the generated admin password written to SSM (value_wo_version). Increase it to rotate: a new random password is generated and stored; the host picks it up on its next boot."
  type        = number
  default     = 1
  nullable    = false
  validation {
    condition     = var.password_version >= 1 && floor(var.password_version) == var.password_version
    error_message = "password_version must be a whole number, at least 1."
  }
}

variable "shiny" {
  description = "Shiny for Python service: port it binds on 127.0.0.1 (reached with SSM port forwarding), the app file inside app/, and the Python the venv is made from (an AL2023 package)."
  type = object({
    port     = optional(number, 8080)
    app_file = optional(string, "app.py")
    python   = optional(string, "python3.11")
  })
  default  = {}
  nullable = false
  validation {
    condition     = var.shiny.port >= 1024 && var.shiny.port <= 65535 && var.shiny.port != 5432
    error_message = "shiny.port must be an unprivileged port (1024-65535) other than 5432."
  }
  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_./-]*\\.py$", var.shiny.app_file)) && !can(regex("\\.\\.", var.shiny.app_file))
    error_message = "shiny.app_file must be a relative .py path inside the app (no '..')."
  }
  validation {
    condition     = contains(["python3.11", "python3.12", "python3.13"], var.shiny.python)
    error_message = "shiny.python must be python3.11, python3.12 or python3.13 (AL2023 packages; its default python3.9 is too old for Shiny)."
  }
}

variable "backup" {
  description = "Nightly pg_dump to s3://<artifacts bucket>/<backup_prefix>: systemd OnCalendar expression (UTC) and whether the timer is enabled."
  type = object({
    enabled     = optional(bool, true)
    on_calendar = optional(string, "*-*-* 03:15:00")
  })
  default  = {}
  nullable = false
  validation {
    condition     = can(regex("^[A-Za-z0-9*:,./ -]{1,64}$", var.backup.on_calendar))
    error_message = "backup.on_calendar must be a systemd OnCalendar expression such as \"*-*-* 03:15:00\" (letters, digits, * : , . / - and spaces only)."
  }
}

variable "tags" {
  description = "Tags merged into every taggable resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
