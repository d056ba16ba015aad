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
data "aws_iam_policy_document" "kms" {
  statement {
    sid       = "AccountAdministersTheKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" means this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
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
