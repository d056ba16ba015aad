variable "alias" {
  description = "Alias name without the `alias/` prefix (for example `clickstream-dev-ingest`); the key gets `alias/<alias>`."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,250}$", var.alias)) && !startswith(var.alias, "aws/") && !startswith(var.alias, "alias/")
    error_message = "alias: 1-250 characters of a-z A-Z 0-9 / _ -, without the alias/ prefix, not in the reserved aws/ namespace."
  }
}

variable "description" {
  description = "What the key protects, shown in the KMS console."
  type        = string
  nullable    = false
  validation {
    condition     = length(trimspace(var.description)) > 0 && length(var.description) <= 8192
    error_message = "description: a non-empty text of at most 8192 characters."
  }
}

variable "deletion_window_in_days" {
  description = "Waiting period (7-30 days) between ScheduleKeyDeletion and the key's deletion; the data it encrypts is lost after it."
  type        = number
  nullable    = false
  default     = 30
  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30 && floor(var.deletion_window_in_days) == var.deletion_window_in_days
    error_message = "deletion_window_in_days: a whole number of days from 7 to 30."
  }
}

variable "key_administrators" {
  description = "IAM principal ARNs (the account root for \"whoever IAM allows\", or roles/users) that administer the key: the key-administration actions only, no cryptographic use. At least one, so the key can never be locked out."
  type        = list(string)
  nullable    = false
  validation {
    condition     = length(var.key_administrators) > 0
    error_message = "key_administrators: at least one principal ARN; a key nobody administers can never be changed or deleted."
  }
  validation {
    condition     = alltrue([for a in var.key_administrators : can(regex("^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(root|role/[A-Za-z0-9+=,.@_/-]+|user/[A-Za-z0-9+=,.@_/-]+)$", a))])
    error_message = "key_administrators: each entry must be an IAM ARN of an account root, a role or a user (arn:aws:iam::123456789012:root, ...:role/name, ...:user/name)."
  }
}

variable "key_users" {
  description = "Statements letting IAM principals use the key: a unique `sid`, principal ARNs, the cryptographic `actions` (default encrypt/decrypt/generate data key/describe) and optional `conditions` (for example `kms:ViaService`, `kms:CallerAccount`, `kms:GrantIsForAWSResource`)."
  type = list(object({
    sid        = string
    principals = list(string)
    actions    = optional(list(string), ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"])
    conditions = optional(list(object({ test = string, variable = string, values = list(string) })), [])
  }))
  nullable = false
  default  = []
  validation {
    condition     = alltrue([for s in var.key_users : length(s.principals) > 0 && alltrue([for p in s.principals : can(regex("^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(root|role/[A-Za-z0-9+=,.@_/-]+|user/[A-Za-z0-9+=,.@_/-]+)$", p))])])
    error_message = "key_users: every statement needs at least one principal, each an IAM ARN of an account root, a role or a user."
  }
  validation {
    condition     = alltrue([for s in var.key_users : length(s.actions) > 0 && alltrue([for a in s.actions : contains(local.use_actions, a)])])
    error_message = "key_users: actions must be listed key-use actions (kms:Encrypt, kms:Decrypt, kms:ReEncryptFrom, kms:ReEncryptTo, kms:GenerateDataKey, kms:GenerateDataKeyWithoutPlaintext, kms:DescribeKey, kms:CreateGrant, kms:ListGrants, kms:RevokeGrant); no wildcard, no administration action."
  }
  validation {
    condition     = alltrue([for s in var.key_users : alltrue([for c in s.conditions : length(c.values) > 0 && length(trimspace(c.variable)) > 0])])
    error_message = "key_users: every condition needs a variable and at least one value."
  }
}

variable "key_service_principals" {
  description = "Statements letting AWS services use the key (for example `logs.<region>.amazonaws.com`, `cloudwatch.amazonaws.com`, `sns.amazonaws.com`): a unique `sid`, the service principals, the cryptographic `actions` and at least one condition that ties the use to this account or resource (`aws:SourceAccount`, `aws:SourceArn`, `kms:EncryptionContext:...`)."
  type = list(object({
    sid        = string
    services   = list(string)
    actions    = optional(list(string), ["kms:Decrypt", "kms:GenerateDataKey"])
    conditions = list(object({ test = string, variable = string, values = list(string) }))
  }))
  nullable = false
  default  = []
  validation {
    condition     = alltrue([for s in var.key_service_principals : length(s.services) > 0 && alltrue([for p in s.services : can(regex("^[a-z0-9-]+(\\.[a-z0-9-]+)*\\.amazonaws\\.com(\\.cn)?$", p))])])
    error_message = "key_service_principals: every statement needs at least one service principal of the form <service>[.<region>].amazonaws.com."
  }
  validation {
    condition     = alltrue([for s in var.key_service_principals : length(s.actions) > 0 && alltrue([for a in s.actions : contains(local.use_actions, a)])])
    error_message = "key_service_principals: actions must be listed key-use actions (kms:Encrypt, kms:Decrypt, kms:ReEncryptFrom, kms:ReEncryptTo, kms:GenerateDataKey, kms:GenerateDataKeyWithoutPlaintext, kms:DescribeKey, kms:CreateGrant, kms:ListGrants, kms:RevokeGrant); no wildcard, no administration action."
  }
  validation {
    condition     = alltrue([for s in var.key_service_principals : length(s.conditions) > 0 && alltrue([for c in s.conditions : length(c.values) > 0 && length(trimspace(c.variable)) > 0])])
    error_message = "key_service_principals: every statement needs at least one condition (aws:SourceAccount, aws:SourceArn or an encryption context) with at least one value, so no other account's use of the service reaches this key."
  }
  validation {
    # Here rather than on key_users: one check that sees the sids of both lists.
    condition = alltrue([for s in concat(var.key_users, var.key_service_principals) : can(regex("^[A-Za-z0-9]{1,100}$", s.sid))]) && (
      length(distinct(concat([for s in var.key_users : s.sid], [for s in var.key_service_principals : s.sid], ["KeyAdministration"])))
      == length(var.key_users) + length(var.key_service_principals) + 1
    )
    error_message = "Every key_users and key_service_principals statement needs its own sid of 1-100 letters and digits (KeyAdministration is the administrators')."
  }
}

variable "tags" {
  description = "Tags of the key."
  type        = map(string)
  nullable    = false
  default     = {}
}
