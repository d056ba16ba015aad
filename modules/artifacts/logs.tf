# Server access log bucket, created unless access_logs.target_bucket names an existing one.
# S3 log delivery writes only to SSE-S3 (AES256) targets, so this bucket cannot use SSE-KMS.

resource "aws_s3_bucket" "logs" {
  count = local.create_log ? 1 : 0
  # checkov:skip=CKV_AWS_145: S3 server access log delivery does not support SSE-KMS targets; SSE-S3 is used.
  # checkov:skip=CKV_AWS_18: this is the access log bucket; logging it into itself would loop.
  # checkov:skip=CKV_AWS_144: cross-region replication of access logs is out of scope for this platform.
  # checkov:skip=CKV2_AWS_62: nothing consumes event notifications for access logs.
  bucket        = local.log_bucket_name
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { Name = local.log_bucket_name })
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  count  = local.create_log ? 1 : 0
  bucket = aws_s3_bucket.logs[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  count                   = local.create_log ? 1 : 0
  bucket                  = aws_s3_bucket.logs[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logs" {
  count  = local.create_log ? 1 : 0
  bucket = aws_s3_bucket.logs[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  count  = local.create_log ? 1 : 0
  bucket = aws_s3_bucket.logs[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  count  = local.create_log ? 1 : 0
  bucket = aws_s3_bucket.logs[0].id
  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.access_logs.retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
  depends_on = [aws_s3_bucket_versioning.logs]
}

data "aws_iam_policy_document" "logs" {
  count = local.create_log ? 1 : 0

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    # {"AWS": "*"} rather than "*": the same principals for a Deny (anonymous requests are
    # already refused by the public access block), and the form moto's logging check parses.
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    resources = [aws_s3_bucket.logs[0].arn, "${aws_s3_bucket.logs[0].arn}/*"]
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid     = "S3ServerAccessLogDelivery"
    effect  = "Allow"
    actions = ["s3:PutObject"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    resources = ["${aws_s3_bucket.logs[0].arn}/${var.access_logs.target_prefix}*"]
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.this.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  count  = local.create_log ? 1 : 0
  bucket = aws_s3_bucket.logs[0].id
  policy = data.aws_iam_policy_document.logs[0].json

  depends_on = [aws_s3_bucket_public_access_block.logs]
}
