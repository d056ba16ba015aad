# Server access log bucket, created unless access_logs.target_bucket names an existing one.
# S3 log delivery writes only to SSE-S3 (AES256) targets, so this bucket cannot use SSE-KMS.
module "log_bucket" {
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
    id                              = "expire-access-logs"
    expiration_days                 = var.access_logs.retention_days
    noncurrent_expiration_days      = 1
    abort_incomplete_multipart_days = 1
  }]
}
