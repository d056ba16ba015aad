# A customer managed KMS key whose policy is built from three kinds of input (the model is
# terraform-aws-modules/kms, cut down to what this platform's modules need):
#   key_administrators      administration only (the fixed list below), never cryptographic use;
#   key_users               IAM principals using the key, optionally conditioned;
#   key_service_principals  AWS services using the key, always conditioned.
# No statement can carry a wildcard action: the variables accept listed actions only.

locals {
  # The key-administration actions: everything an operator needs to manage the key and its
  # policy, tags, aliases, rotation and deletion, and none of the cryptographic operations.
  admin_actions = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
  ]
  # What users and services may be granted (exact names; the validations refuse anything else).
  use_actions = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
    "kms:CreateGrant",
    "kms:ListGrants",
    "kms:RevokeGrant",
  ]
}

data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_109,CKV_AWS_111,CKV_AWS_356:Key policy, where Resource "*" can only mean this key. The administrators' statement holds the listed administration actions only (no cryptographic use, so the key stays manageable and cannot be locked out); every other statement is built from key_users / key_service_principals, whose validations accept listed key-use actions only, never a wildcard, and require a condition for every service principal.
  statement {
    sid       = "KeyAdministration"
    actions   = local.admin_actions
    resources = ["*"] # in a key policy "*" means this key
    principals {
      type        = "AWS"
      identifiers = var.key_administrators
    }
  }

  dynamic "statement" {
    for_each = var.key_users
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = ["*"]
      principals {
        type        = "AWS"
        identifiers = statement.value.principals
      }
      dynamic "condition" {
        for_each = statement.value.conditions
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }

  dynamic "statement" {
    for_each = var.key_service_principals
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = ["*"]
      principals {
        type        = "Service"
        identifiers = statement.value.services
      }
      dynamic "condition" {
        for_each = statement.value.conditions
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = data.aws_iam_policy_document.this.json
  tags                    = var.tags

}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.alias}"
  target_key_id = aws_kms_key.this.key_id
}
