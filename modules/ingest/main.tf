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
# The account root (i.e. IAM) administers the key: IAM decides who, so the deployment role can
# manage it and nobody can lock it out. Cryptographic use is granted to IAM principals of this
# account only through S3 (kms:ViaService): the ingest role's kms:GenerateDataKey and the ETL
# role's kms:Decrypt, both granted by their own IAM policies, take effect for S3 SSE-KMS and
# nowhere else. CloudWatch Logs may use it for this module's two log groups only.
module "key" {
  source                  = "../internal/kms_key"
  alias                   = "${var.name}-ingest"
  description             = "${var.name}: raw clickstream events and ingest logs"
  deletion_window_in_days = var.kms_deletion_window_days
  key_administrators      = ["arn:${local.partition}:iam::${local.account_id}:root"]
  key_users = [{
    sid        = "AccountPrincipalsUseTheKeyOnlyThroughS3"
    principals = ["arn:${local.partition}:iam::${local.account_id}:root"]
    actions    = ["kms:Decrypt", "kms:GenerateDataKey"]
    conditions = [
      { test = "StringEquals", variable = "kms:ViaService", values = ["s3.${local.region}.amazonaws.com"] },
      { test = "StringEquals", variable = "kms:CallerAccount", values = [local.account_id] },
    ]
  }]
  key_service_principals = [{
    sid      = "CloudWatchLogsEncryptsThisModulesLogGroups"
    services = ["logs.${local.region}.amazonaws.com"]
    actions  = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]
    conditions = [{
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.lambda_log_group}",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.access_log_group}",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${local.batcher_name}",
      ]
    }]
  }]
  tags = local.tags
}
