data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id    = data.aws_caller_identity.current.account_id
  region        = data.aws_region.current.name
  partition     = data.aws_partition.current.partition
  function_name = "${var.name}-ingest"
  raw_bucket    = "${var.name}-raw-${local.account_id}"
  log_bucket    = "${var.name}-s3-access-logs-${local.account_id}"
  # Accepted and rejected prefixes: the only keys the function may write.
  accepted_prefix  = "${var.raw_prefix}dt="
  rejected_prefix  = "${var.raw_prefix}rejected/"
  lambda_log_group = "/aws/lambda/${local.function_name}"
  access_log_group = "/aws/apigateway/${var.name}-ingest-access"
  tags             = merge(var.tags, { Module = "ingest" })
}

# --- Customer managed key: raw events at rest and both log groups --------------------------------
# In a key policy Resource "*" means "this key" and nothing else. The account root statement is
# the key's administration only (the actions are listed; no Encrypt/Decrypt among them): IAM
# decides who administers it, so the deployment role can manage it and nobody can lock it out.
# Cryptographic use is granted to IAM principals of this account only through S3
# (kms:ViaService): the ingest role's kms:GenerateDataKey and the ETL role's kms:Decrypt, both
# granted by their own IAM policies, take effect for S3 SSE-KMS and nowhere else.
data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109,CKV_AWS_111,CKV_AWS_356:Key policy, where Resource "*" can only mean this key. The one unconditioned statement lets the account root (i.e. IAM) administer the key with listed admin actions and no cryptographic use, so the key stays manageable and cannot be locked out; use is conditioned (S3 via kms:ViaService, CloudWatch Logs for this module's groups).
  statement {
    sid = "AccountAdministersTheKeyThroughIam"
    actions = [
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
    resources = ["*"] # in a key policy "*" means this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
  statement {
    sid       = "AccountPrincipalsUseTheKeyOnlyThroughS3"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:CallerAccount"
      values   = [local.account_id]
    }
  }
  statement {
    sid = "CloudWatchLogsEncryptsThisModulesLogGroups"
    actions = [
      "kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*",
    ]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.lambda_log_group}",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.access_log_group}",
      ]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: raw clickstream events and ingest logs"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = local.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}-ingest"
  target_key_id = aws_kms_key.this.key_id
}
