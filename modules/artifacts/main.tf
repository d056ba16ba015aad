data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  create_kms_key  = var.kms_key_arn == null
  kms_key_arn     = local.create_kms_key ? module.key[0].key_arn : var.kms_key_arn
  create_log      = var.access_logs.target_bucket == null
  log_bucket_name = local.create_log ? "${substr(var.bucket_name, 0, 58)}-logs" : var.access_logs.target_bucket
}

# -- encryption key -------------------------------------------------------------------------------
# Administered through IAM (the account root); used only through S3 (kms:ViaService): readers
# get kms:Decrypt from their own role policies, scoped to this key and to S3.
module "key" {
  source             = "../internal/kms_key"
  count              = local.create_kms_key ? 1 : 0
  alias              = replace(var.bucket_name, ".", "-")
  description        = "SSE-KMS for the ${var.bucket_name} artifacts bucket"
  key_administrators = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
  key_users = [{
    sid        = "AccountPrincipalsUseTheKeyOnlyThroughServices"
    principals = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    conditions = [{ test = "StringEquals", variable = "kms:ViaService", values = ["s3.${data.aws_region.current.name}.amazonaws.com"] }]
  }]
  tags = merge(var.tags, { Name = "${var.bucket_name}-artifacts" })
}

# -- the artifacts bucket -------------------------------------------------------------------------
# Uploads without encryption headers get the bucket default (the hosts' dumps rely on it); a
# request for another algorithm or key is refused.
module "bucket" {
  source        = "../internal/private_bucket"
  name          = var.bucket_name
  kms_key_arn   = local.kms_key_arn
  access_logs   = { target_bucket = local.create_log ? module.log_bucket[0].log_target_id : var.access_logs.target_bucket, target_prefix = var.access_logs.target_prefix }
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { Name = var.bucket_name })
  lifecycle_rules = [
    {
      id                         = "expire-backups"
      prefix                     = var.backup_prefix
      expiration_days            = var.backup_retention_days
      noncurrent_expiration_days = 1
    },
    {
      id                         = "noncurrent-artifacts"
      noncurrent_expiration_days = var.noncurrent_version_retention_days
    },
  ]
  abort_incomplete_multipart_days = 7
  # The uploads go first: they already use TLS and this bucket's key, and emulators that
  # evaluate Deny statements without their conditions (moto) would refuse them otherwise.
  policy_waits_for = [for o in aws_s3_object.this : o.id]
}

# -- uploads --------------------------------------------------------------------------------------

resource "aws_s3_object" "this" {
  for_each     = var.artifacts
  bucket       = module.bucket.id
  key          = each.key
  source       = each.value.source
  source_hash  = filemd5(each.value.source) # a changed file is uploaded again on apply
  content_type = each.value.content_type
  # Explicit SSE-KMS with the bucket key, matching the bucket policy's requirements.
  server_side_encryption = "aws:kms"
  kms_key_id             = local.kms_key_arn
  bucket_key_enabled     = true
  tags                   = var.tags

  # module.bucket.id is available once the bucket's encryption and public access block are.
}
