variable "role" {
  description = "Which database host this is: `warehouse` (the analytics warehouse and its dashboards) or `oltp` (the shop's order database). It names the resources (`dw` or `oltp`), the bundle key and the ROLE the bootstrap reads from host.env."
  type        = string
  nullable    = false
  validation {
    condition     = contains(["warehouse", "oltp"], var.role)
    error_message = "role must be warehouse or oltp."
  }
}

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
  description = "Subnet of the host: private, no route to the internet, S3 through the Gateway endpoint (the analytics subnets for the warehouse, the data tier for the OLTP host)."
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
  description = "Amazon Linux 2023 x86_64 image: an explicit id (pin it in prod for reproducible hosts), or the SSM public parameter that names the latest one. A new image replaces the instance; the data volume is kept."
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
    error_message = "ami.ssm_parameter_name must be an Amazon Linux 2023 x86_64 public parameter such as /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64 (the bundle is built for python3.11 on x86_64 and installs AL2023 packages)."
  }
}

variable "instance_type" {
  description = "EC2 instance type: x86_64 (the bundle's wheels), Nitro (the data volume is found through its /dev/sdf NVMe alias). PostgreSQL memory settings are derived from the instance's memory at boot."
  type        = string
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
  description = "Size of the encrypted gp3 root volume in GiB (OS, packages, the unpacked bundles and the venv)."
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
    size_gib   = optional(number, 50)
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
  description = "KMS key encrypting the volumes and the password parameter. Null creates a dedicated key with rotation (one per host: a client of one host gets no grant on the other's key)."
  type        = string
  default     = null
  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:key/[0-9a-f-]{36}$", var.kms_key_arn))
    error_message = "kms_key_arn must be null (the module creates a key) or a KMS key ARN."
  }
}

variable "client_security_groups" {
  description = "Security groups allowed to reach PostgreSQL (5432), keyed by a static label (e.g. { etl = <ETL Lambda SG id> }): a map so plans work while the IDs are still unknown. Empty admits nothing (a host whose clients do not exist yet); administration is Session Manager only."
  type        = map(string)
  default     = {}
  nullable    = false
  validation {
    condition     = alltrue([for id in values(var.client_security_groups) : can(regex("^sg-[0-9a-f]{8,17}$", id))])
    error_message = "client_security_groups values must be security group IDs such as sg-0123456789abcdef0 (never CIDRs)."
  }
  validation {
    condition     = alltrue([for k in keys(var.client_security_groups) : can(regex("^[a-z][a-z0-9_-]{0,31}$", k))])
    error_message = "client_security_groups keys must be short lowercase labels such as etl or app."
  }
}

variable "client_cidrs" {
  description = "Address ranges pg_hba.conf admits TLS logins of the database owner from (the clients' subnets): CLIENT_CIDRS in host.env. Defence in depth behind the security group; none wider than /16. Empty: local connections only."
  type        = list(string)
  default     = []
  nullable    = false
  validation {
    condition = alltrue([
      for c in var.client_cidrs :
      can(regex("^\\d+\\.\\d+\\.\\d+\\.\\d+/\\d+$", c)) && try(cidrsubnet(c, 0, 0) == c, false) && try(tonumber(split("/", c)[1]) >= 16, false)
    ])
    error_message = "client_cidrs must list IPv4 network addresses in CIDR notation no wider than /16 (0.0.0.0/0 is refused), e.g. 10.20.64.0/24."
  }
}

variable "s3_prefix_list_id" {
  description = "Prefix list of S3 in the region (endpoints module output s3_prefix_list_id): with the interface endpoints, the host's only egress, on 443 (the bundle, backups, AL2023 repositories)."
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

variable "bundle" {
  description = <<-EOT
    The host bundle (docs/hosts.md) in the artifacts bucket (artifacts module outputs):
    `key` is `<prefix>bundles/<role>-<sha256>.tar.gz` and `sha256` its hex SHA-256, checked on
    the host before anything is unpacked. A new bundle is a new key, so a new user data and a
    new instance (the data volume is kept). The host may read only that object and write only
    under `backup_prefix` (the nightly dumps).
  EOT
  type = object({
    bucket_name   = string
    bucket_arn    = string
    kms_key_arn   = string
    key           = string
    sha256        = string
    backup_prefix = string
  })
  nullable = false
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bundle.bucket_name)) && var.bundle.bucket_arn == "arn:${split(":", var.bundle.bucket_arn)[1]}:s3:::${var.bundle.bucket_name}"
    error_message = "bundle.bucket_name must be a valid bucket name and bundle.bucket_arn its ARN (arn:aws:s3:::<bucket_name>)."
  }
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:key/[0-9a-f-]{36}$", var.bundle.kms_key_arn))
    error_message = "bundle.kms_key_arn must be the KMS key ARN of the artifacts bucket."
  }
  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.bundle.sha256))
    error_message = "bundle.sha256 must be the bundle's SHA-256 as 64 lowercase hex digits (the content of build/hosts/<role>.tar.gz.sha256)."
  }
  validation {
    condition     = can(regex("^([a-z0-9][a-z0-9_-]*/)*bundles/(warehouse|oltp)-[0-9a-f]{64}\\.tar\\.gz$", var.bundle.key)) && endswith(var.bundle.key, "bundles/${var.role}-${var.bundle.sha256}.tar.gz")
    error_message = "bundle.key must be <prefix>bundles/<role>-<sha256>.tar.gz with this host's role and bundle.sha256, e.g. dw/bundles/warehouse-<sha256>.tar.gz (the key names the content, so a new bundle boots a new host)."
  }
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*/$", var.bundle.backup_prefix))
    error_message = "bundle.backup_prefix must be a relative key prefix of lowercase letters, digits, '_' and '-' segments ending in '/', e.g. backups/dw/."
  }
  validation {
    condition     = !startswith(var.bundle.key, var.bundle.backup_prefix)
    error_message = "bundle.key must not lie under bundle.backup_prefix: the host only reads the bundle and only writes backups."
  }
}

variable "database" {
  description = "PostgreSQL settings written to host.env: the database, its owner role (LOGIN, not a superuser; the ETL or the shop logs in as it, password generated into SSM), work_mem in MiB and max_connections. Memory settings (shared_buffers, effective_cache_size, maintenance_work_mem) come from the instance's memory at boot."
  type = object({
    name            = string
    admin_user      = string
    work_mem_mib    = optional(number, 16)
    max_connections = optional(number, 100)
  })
  nullable = false
  validation {
    condition     = alltrue([for n in [var.database.name, var.database.admin_user] : can(regex("^[a-z_][a-z0-9_]{0,62}$", n))]) && !contains(["postgres", "template0", "template1"], var.database.name) && var.database.admin_user != "postgres"
    error_message = "database.name and admin_user must be lowercase SQL identifiers (letters, digits, '_', starting with a letter or '_', at most 63 characters) and not postgres/template0/template1."
  }
  validation {
    condition     = var.database.work_mem_mib >= 1 && var.database.work_mem_mib <= 2048 && floor(var.database.work_mem_mib) == var.database.work_mem_mib && var.database.max_connections >= 10 && var.database.max_connections <= 5000 && floor(var.database.max_connections) == var.database.max_connections
    error_message = "database.work_mem_mib must be a whole number 1-2048 and database.max_connections a whole number 10-5000."
  }
}

variable "dashboard" {
  description = "The dashboards on the warehouse (required there, null on the OLTP host): their read-only login (member of dw_reader, peer auth over the local socket) and the port they bind on 127.0.0.1, reached with SSM port forwarding."
  type = object({
    user = string
    port = optional(number, 8080)
  })
  default = null
  validation {
    condition     = (var.role == "warehouse") == (var.dashboard != null)
    error_message = "dashboard must be set for the warehouse and null for the oltp host (only the warehouse runs dashboards)."
  }
  validation {
    condition     = var.dashboard == null ? true : can(regex("^[a-z_][a-z0-9_]{0,62}$", var.dashboard.user)) && !contains(["postgres", var.database.admin_user], var.dashboard.user)
    error_message = "dashboard.user must be a lowercase SQL identifier other than postgres and database.admin_user (it is a separate read-only login)."
  }
  validation {
    condition     = var.dashboard == null ? true : var.dashboard.port >= 1024 && var.dashboard.port <= 65535 && var.dashboard.port != 5432 && floor(var.dashboard.port) == var.dashboard.port
    error_message = "dashboard.port must be an unprivileged port (1024-65535) other than 5432."
  }
}

variable "backup" {
  description = "Nightly pg_dump to s3://<bundle.bucket_name>/<bundle.backup_prefix>: whether the timer is enabled and its systemd OnCalendar expression (UTC)."
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

variable "password_version" {
  description = "Version of the generated owner password written to SSM (value_wo_version). Increase it to rotate: a new random password is generated and stored; the host picks it up on its next bootstrap."
  type        = number
  default     = 1
  nullable    = false
  validation {
    condition     = var.password_version >= 1 && floor(var.password_version) == var.password_version
    error_message = "password_version must be a whole number, at least 1."
  }
}

variable "tags" {
  description = "Tags merged into every taggable resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
