variable "name" {
  description = "Name prefix of every resource. Lowercase letters, digits and hyphens, 3-32 characters, starting with a letter."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen (got an empty or invalid name)."
  }
}

variable "region" {
  description = "AWS region of the VPC (e.g. us-east-1). Endpoint service names and the Amazon Linux 2023 repository bucket are built from it, so no data source is needed."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\\d$", var.region))
    error_message = "region must be an AWS region name such as us-east-1 or eu-central-1."
  }
}

variable "vpc_id" {
  description = "ID of the VPC the endpoints belong to (network module output vpc_id)."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID such as vpc-0123456789abcdef0."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC: the only source the interface endpoints' security group admits (HTTPS)."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^\\d+\\.\\d+\\.\\d+\\.\\d+/\\d+$", var.vpc_cidr)) && try(cidrsubnet(var.vpc_cidr, 0, 0) == var.vpc_cidr, false)
    error_message = "vpc_cidr must be an IPv4 network address in CIDR notation with no host bits set, e.g. 10.20.0.0/16."
  }
  validation {
    condition     = try(tonumber(split("/", var.vpc_cidr)[1]) >= 8, false)
    error_message = "vpc_cidr must not be wider than /8 (0.0.0.0/0 would open the endpoints to any address)."
  }
}

variable "route_table_ids" {
  description = "Route tables the S3 Gateway endpoint is attached to: every private (and data) route table, so each private subnet reaches S3 without a NAT Gateway."
  type        = list(string)
  nullable    = false
  validation {
    condition     = length(var.route_table_ids) >= 1 && alltrue([for id in var.route_table_ids : can(regex("^rtb-[0-9a-f]{8,17}$", id))])
    error_message = "route_table_ids must list at least one route table ID such as rtb-0123456789abcdef0."
  }
}

variable "subnet_ids" {
  description = "Private subnets (one per AZ) the interface endpoints place their network interfaces in."
  type        = list(string)
  nullable    = false
  validation {
    condition     = length(var.subnet_ids) >= 1 && alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "subnet_ids must list at least one subnet ID such as subnet-0123456789abcdef0."
  }
}

variable "bucket_arns" {
  description = "ARNs of the platform's own buckets (raw events, artifacts, ...) reachable through the S3 Gateway endpoint. Everything else in S3, except the region's Amazon Linux 2023 repositories, is refused by the endpoint policy."
  type        = list(string)
  nullable    = false
  validation {
    condition     = length(var.bucket_arns) >= 1
    error_message = "bucket_arns must name at least one bucket: an endpoint that reaches none of the platform's buckets has no purpose."
  }
  validation {
    condition     = alltrue([for arn in var.bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", arn))])
    error_message = "bucket_arns entries must be plain bucket ARNs such as arn:aws:s3:::my-bucket (no wildcards, no object paths)."
  }
}

variable "bucket_actions" {
  description = "S3 actions the endpoint policy allows on the platform buckets and their objects. Explicit actions only; wildcards are refused."
  type        = list(string)
  nullable    = false
  default = [
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:GetBucketLocation",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
    "s3:ListBucketMultipartUploads",
  ]
  validation {
    condition     = length(var.bucket_actions) >= 1 && alltrue([for a in var.bucket_actions : can(regex("^s3:[A-Za-z]+$", a))])
    error_message = "bucket_actions must be explicit S3 actions such as s3:GetObject (no \"*\" or \"s3:*\", no wildcards)."
  }
}

variable "allow_al2023_repositories" {
  description = "Allow s3:GetObject on the region's Amazon Linux 2023 package repository bucket (al2023-repos-<region>-de612dc2), so private hosts can run dnf without internet access."
  type        = bool
  default     = true
  nullable    = false
}

variable "allow_ssm_agent_buckets" {
  description = "Allow s3:GetObject on the AWS-owned buckets SSM Agent needs in the region (aws-ssm-, amazon-ssm-, amazon-ssm-packages-, aws-ssm-distributor-file-, aws-ssm-document-attachments-, patch-baseline-snapshot-<region> and <region>-birdwatcher-prod): agent updates, Run Command modules, Distributor and patching fail without them when S3 is reached through this endpoint."
  type        = bool
  default     = true
  nullable    = false
}

variable "interface_endpoints" {
  description = "Extra interface endpoints beyond the always-created ssm, ssmmessages and ec2messages. Each costs an hourly fee per AZ, so only what a workload needs."
  type        = set(string)
  default     = []
  nullable    = false
  validation {
    condition     = alltrue([for s in var.interface_endpoints : contains(["logs", "kms", "secretsmanager", "sts", "monitoring", "events", "lambda", "ec2", "ecr.api", "ecr.dkr"], s)])
    error_message = "interface_endpoints may contain only: logs, kms, secretsmanager, sts, monitoring, events, lambda, ec2, ecr.api, ecr.dkr (ssm, ssmmessages and ec2messages are always created)."
  }
}

variable "tags" {
  description = "Tags merged into every taggable resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
