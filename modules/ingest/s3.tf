# --- Raw bucket: the data lake's system of record ------------------------------------------------
# The function always sends SSE-KMS with this module's key, so the bucket requires both headers:
# a PUT with no encryption header, SSE-S3, or another key (one an outsider controls) is refused.
module "raw_bucket" {
  source                     = "../internal/private_bucket"
  name                       = local.raw_bucket
  kms_key_arn                = module.key.key_arn
  require_kms_upload_headers = true
  access_logs                = { target_bucket = module.log_bucket.log_target_id, target_prefix = "s3/${local.raw_bucket}/" }
  force_destroy              = var.force_destroy
  tags                       = merge(local.tags, { Name = local.raw_bucket, DataClass = "raw-events" })
  # The module's own first rule aborts incomplete multipart uploads bucket-wide after a day,
  # not only under the two prefixes the function writes.
  lifecycle_rules = [
    {
      id     = "accepted-events"
      prefix = local.accepted_prefix
      transitions = [
        { days = var.raw_lifecycle.standard_ia_days, storage_class = "STANDARD_IA" },
        { days = var.raw_lifecycle.glacier_ir_days, storage_class = "GLACIER_IR" },
      ]
      expiration_days            = var.raw_lifecycle.expiration_days
      noncurrent_expiration_days = var.raw_lifecycle.noncurrent_expiration_days
    },
    {
      id                         = "rejected-events"
      prefix                     = local.rejected_prefix
      expiration_days            = var.raw_lifecycle.rejected_expiration_days
      noncurrent_expiration_days = var.raw_lifecycle.noncurrent_expiration_days
    },
  ]
}

# --- Access-log bucket ---------------------------------------------------------------------------
# SSE-S3 (server access logs cannot be delivered to SSE-KMS buckets): request metadata only,
# never event payloads. Only S3 log delivery for the raw bucket may write.
module "log_bucket" {
  #checkov:skip=CKV_AWS_18,CKV_AWS_145:An access-log target: logging it into itself would loop, and S3 server access log delivery cannot write to SSE-KMS buckets, so it is SSE-S3 (it holds request metadata, never event payloads). modules/internal/private_bucket makes every bucket that is not a log target use SSE-KMS and log its access.
  source             = "../internal/private_bucket"
  name               = local.log_bucket
  access_log_sources = [{ bucket_arn = "arn:${local.partition}:s3:::${local.raw_bucket}", prefix = "s3/${local.raw_bucket}/" }]
  force_destroy      = var.force_destroy
  tags               = merge(local.tags, { Name = local.log_bucket, DataClass = "access-logs" })
  lifecycle_rules = [{
    id                         = "expire-access-logs"
    expiration_days            = var.log_retention_days
    noncurrent_expiration_days = 7
  }]
}
