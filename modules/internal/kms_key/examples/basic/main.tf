# modules/internal/kms_key on its own: the shapes its callers build. terraform.tfvars holds a
# key the way modules/ingest uses one (IAM principals only through S3, CloudWatch Logs for one
# log group) plus the alarms key's statement (CloudWatch alarms of this account), so the plan
# shows every kind of statement; the plan tests pass hostile values on top.
terraform {
  required_version = ">= 1.11.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100.0, < 6.0.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  description = "Region of the provider."
  type        = string
  default     = "us-east-1"
}

variable "alias" {
  description = "Alias name without alias/."
  type        = string
}

variable "deletion_window_in_days" {
  description = "Days between ScheduleKeyDeletion and deletion."
  type        = number
  default     = 30
}

variable "key_administrators" {
  description = "Principal ARNs administering the key."
  type        = list(string)
}

variable "key_users" {
  description = "IAM principals using the key (see the module's variable)."
  type = list(object({
    sid        = string
    principals = list(string)
    actions    = optional(list(string))
    conditions = optional(list(object({ test = string, variable = string, values = list(string) })))
  }))
  default = []
}

variable "key_service_principals" {
  description = "AWS services using the key (see the module's variable)."
  type = list(object({
    sid        = string
    services   = list(string)
    actions    = optional(list(string))
    conditions = list(object({ test = string, variable = string, values = list(string) }))
  }))
  default = []
}

module "key" {
  source                  = "../.."
  alias                   = var.alias
  description             = "Example key built from administrators, users and service principals"
  deletion_window_in_days = var.deletion_window_in_days
  key_administrators      = var.key_administrators
  # Unset optional attributes reach the module as null; drop them so its defaults apply.
  key_users              = [for u in var.key_users : { for k, v in u : k => v if v != null }]
  key_service_principals = [for s in var.key_service_principals : { for k, v in s : k => v if v != null }]
  tags                   = { Project = "clickstream", Environment = "example" }
}

output "key_arn" {
  description = "ARN of the key."
  value       = module.key.key_arn
}

output "alias_name" {
  description = "Alias of the key."
  value       = module.key.alias_name
}

output "admin_actions" {
  description = "The administrators' actions."
  value       = module.key.admin_actions
}
