# Server access log bucket, created unless access_logs.target_bucket names an existing one.
# S3 log delivery writes only to SSE-S3 (AES256) targets, so this bucket cannot use SSE-KMS.
module "log_bucket" {
  #checkov:skip=CKV_AWS_18,CKV_AWS_145:An access-log target: logging it into itself would loop, and S3 server access log delivery cannot write to SSE-KMS buckets, so it is SSE-S3 (it holds request metadata, never artifacts). modules/internal/private_bucket makes every bucket that is not a log target use SSE-KMS and log its access.
  source = "../internal/private_bucket"
  count  = local.create_log ? 1 : 0
  name   = local.log_bucket_name
  access_log_sources = [{
    bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_name}"
    prefix     = var.access_logs.target_prefix
  }]
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { Name = local.log_bucket_name })
  lifecycle_rules = [{
    id                         = "expire-access-logs"
    expiration_days            = var.access_logs.retention_days
    noncurrent_expiration_days = 1
  }]
}
