# --- Raw bucket: the data lake's system of record ------------------------------------------------
resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is an environment decision (envs/prod), not a default of the module.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object events; the ETL runs on an EventBridge schedule.
  bucket        = local.raw_bucket
  force_destroy = var.force_destroy
  tags          = merge(local.tags, { Name = local.raw_bucket, DataClass = "raw-events" })
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    # One data key per bucket and period instead of per object: far fewer KMS calls.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_logging" "this" {
  bucket        = aws_s3_bucket.this.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/${local.raw_bucket}/"
  # S3 checks at this call that the target's policy already lets the logging service write.
  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  # Bucket-wide (empty filter): a multipart upload under any key, not only the two prefixes the
  # function writes, is aborted and its parts deleted after a day instead of billed forever.
  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "accepted-events"
    status = "Enabled"
    filter {
      prefix = local.accepted_prefix
    }
    transition {
      days          = var.raw_lifecycle.standard_ia_days
      storage_class = "STANDARD_IA"
    }
    transition {
      days          = var.raw_lifecycle.glacier_ir_days
      storage_class = "GLACIER_IR"
    }
    expiration {
      days = var.raw_lifecycle.expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = var.raw_lifecycle.noncurrent_expiration_days
    }
  }

  rule {
    id     = "rejected-events"
    status = "Enabled"
    filter {
      prefix = local.rejected_prefix
    }
    expiration {
      days = var.raw_lifecycle.rejected_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = var.raw_lifecycle.noncurrent_expiration_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "raw_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
    principals {
      # {"AWS": "*"} is the same as "*" (everyone, anonymous included), and the form moto's
      # bucket-logging permission check can parse.
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
  # Every PUT must name SSE-KMS and this module's key (the function always does): a put with
  # no encryption header, SSE-S3, or another key (one an outsider controls) is refused.
  statement {
    sid       = "DenyPutWithoutSseKms"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/*"]
    principals {
      # {"AWS": "*"} is the same as "*" (everyone, anonymous included), and the form moto's
      # bucket-logging permission check can parse.
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["aws:kms"]
    }
  }
  statement {
    sid       = "DenyPutWithAnotherKey"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/*"]
    principals {
      # {"AWS": "*"} is the same as "*" (everyone, anonymous included), and the form moto's
      # bucket-logging permission check can parse.
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = [aws_kms_key.this.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.raw_bucket.json
  # The public access block must exist first or a policy update can race it.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# --- Access-log bucket ---------------------------------------------------------------------------
# S3 server access logging cannot deliver to a bucket encrypted with SSE-KMS, so this bucket uses
# SSE-S3 (AES256). It holds request metadata only, never event payloads.
resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log target; logging it to itself would loop.
  #checkov:skip=CKV_AWS_145:S3 server access logs cannot be delivered to SSE-KMS buckets; SSE-S3 is used.
  #checkov:skip=CKV_AWS_144:Access logs are not replicated across regions.
  #checkov:skip=CKV2_AWS_62:No consumer of object events for access logs.
  bucket        = local.log_bucket
  force_destroy = var.force_destroy
  tags          = merge(local.tags, { Name = local.log_bucket, DataClass = "access-logs" })
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
  depends_on = [aws_s3_bucket_versioning.logs]
}

data "aws_iam_policy_document" "log_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
    principals {
      # {"AWS": "*"} is the same as "*" (everyone, anonymous included), and the form moto's
      # bucket-logging permission check can parse.
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
  statement {
    sid       = "S3ServerAccessLogsFromTheRawBucket"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/s3/${local.raw_bucket}/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.this.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket     = aws_s3_bucket.logs.id
  policy     = data.aws_iam_policy_document.log_bucket.json
  depends_on = [aws_s3_bucket_public_access_block.logs]
}
