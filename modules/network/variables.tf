variable "name" {
  description = "Name prefix of every resource (also the VPC's Name tag). Lowercase letters, digits and hyphens, 3-32 characters, starting with a letter."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen (got an empty or invalid name)."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC, a network address with a prefix between /16 and /24 (for example 10.20.0.0/16)."
  type        = string
  nullable    = false
  validation {
    condition = (
      can(cidrnetmask(var.vpc_cidr))
      && can(regex("^\\d+\\.\\d+\\.\\d+\\.\\d+/\\d+$", var.vpc_cidr))
      && try(cidrsubnet(var.vpc_cidr, 0, 0) == var.vpc_cidr, false)
      && try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 24, false)
    )
    error_message = "vpc_cidr must be an IPv4 network address in CIDR notation with a prefix from /16 to /24 and no host bits set, e.g. 10.20.0.0/16."
  }
}

variable "availability_zones" {
  description = "Availability zones to spread every subnet tier over (at least two, distinct, e.g. [\"us-east-1a\", \"us-east-1b\"]). Passed in rather than looked up so plans are reproducible."
  type        = list(string)
  nullable    = false
  validation {
    condition     = length(var.availability_zones) >= 2
    error_message = "availability_zones must list at least two availability zones: a single AZ is a single point of failure for every private subnet tier."
  }
  validation {
    condition     = length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "availability_zones must not repeat a zone."
  }
  validation {
    condition     = alltrue([for az in var.availability_zones : can(regex("^[a-z]{2}(-[a-z]+)+-\\d[a-z]$", az))])
    error_message = "availability_zones entries must be zone names such as us-east-1a."
  }
}

variable "subnets" {
  description = <<-EOT
    Subnet layout, one subnet per AZ and tier. By default CIDRs are computed: the VPC is cut into
    quarters (public, private, data, spare) and each tier takes subnets of `newbits` extra bits
    from its quarter, so a tier's subnets share a supernet usable in rules. Give explicit CIDR
    lists (one per AZ, in AZ order) to override a tier. `data_tier` adds a third, isolated
    tier for the OLTP database, kept apart from the analytics `private` tier.
  EOT
  type = object({
    newbits       = optional(number, 8)
    public_tier   = optional(bool, true)
    data_tier     = optional(bool, false)
    public_cidrs  = optional(list(string), [])
    private_cidrs = optional(list(string), [])
    data_cidrs    = optional(list(string), [])
  })
  default  = {}
  nullable = false
  validation {
    condition = (
      var.subnets.newbits >= 3 && var.subnets.newbits <= 12
      && try(tonumber(split("/", var.vpc_cidr)[1]) + var.subnets.newbits <= 28, true)
    )
    error_message = "subnets.newbits must be between 3 and 12 and leave subnets no smaller than /28."
  }
  validation {
    condition     = length(var.availability_zones) <= pow(2, var.subnets.newbits - 2)
    error_message = "subnets.newbits is too small for the number of availability zones: each tier's quarter of the VPC must hold one subnet per AZ."
  }
  validation {
    condition = alltrue([
      for cidrs in [var.subnets.public_cidrs, var.subnets.private_cidrs, var.subnets.data_cidrs] :
      length(cidrs) == 0 || length(cidrs) == length(var.availability_zones)
    ])
    error_message = "subnets.public_cidrs, private_cidrs and data_cidrs must be empty (computed) or list exactly one CIDR per availability zone."
  }
  validation {
    condition = alltrue([
      for c in concat(var.subnets.public_cidrs, var.subnets.private_cidrs, var.subnets.data_cidrs) :
      can(regex("^\\d+\\.\\d+\\.\\d+\\.\\d+/\\d+$", c)) && try(cidrsubnet(c, 0, 0) == c, false)
    ])
    error_message = "every explicit subnet CIDR must be an IPv4 network address in CIDR notation with no host bits set, e.g. 10.20.16.0/24."
  }
  validation {
    # Inside the VPC: at least as long a prefix, and the subnet's address masked to the VPC
    # prefix is the VPC's network address.
    condition = alltrue([
      for c in concat(var.subnets.public_cidrs, var.subnets.private_cidrs, var.subnets.data_cidrs) :
      try(
        tonumber(split("/", c)[1]) >= tonumber(split("/", var.vpc_cidr)[1])
        && cidrsubnet("${cidrhost(c, 0)}/${split("/", var.vpc_cidr)[1]}", 0, 0) == var.vpc_cidr,
        false
      )
    ])
    error_message = "every explicit subnet CIDR must lie inside vpc_cidr."
  }
  validation {
    condition     = length(distinct(concat(var.subnets.public_cidrs, var.subnets.private_cidrs, var.subnets.data_cidrs))) == length(concat(var.subnets.public_cidrs, var.subnets.private_cidrs, var.subnets.data_cidrs))
    error_message = "explicit subnet CIDRs must not repeat."
  }
}

variable "flow_logs" {
  description = "VPC flow logs to CloudWatch Logs. The log group is encrypted with a KMS key the module creates unless kms_key_arn is given; retention_in_days must be a value CloudWatch Logs accepts."
  type = object({
    enabled                  = optional(bool, true)
    traffic_type             = optional(string, "ALL")
    retention_in_days        = optional(number, 365)
    max_aggregation_interval = optional(number, 600)
    kms_key_arn              = optional(string)
  })
  default  = {}
  nullable = false
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_logs.retention_in_days)
    error_message = "flow_logs.retention_in_days must be one of the values CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
  validation {
    condition     = contains(["ACCEPT", "REJECT", "ALL"], var.flow_logs.traffic_type)
    error_message = "flow_logs.traffic_type must be ACCEPT, REJECT or ALL."
  }
  validation {
    condition     = contains([60, 600], var.flow_logs.max_aggregation_interval)
    error_message = "flow_logs.max_aggregation_interval must be 60 or 600 seconds."
  }
  validation {
    condition     = var.flow_logs.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:key/[0-9a-f-]{36}$", var.flow_logs.kms_key_arn))
    error_message = "flow_logs.kms_key_arn must be null (the module creates a key) or a KMS key ARN."
  }
}

variable "tags" {
  description = "Tags merged into every taggable resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
