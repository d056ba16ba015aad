# A private S3 bucket, one of two kinds (decided by access_log_sources, known at plan time):
#   data bucket        SSE-KMS with the given key and bucket keys, server access logs to
#                      access_logs, uploads naming another algorithm or key refused;
#   access-log target  SSE-S3 (S3 log delivery cannot write to SSE-KMS buckets), receives
#                      server access logs from access_log_sources only, does not log itself.
# Both: versioning, all four public access block settings, BucketOwnerEnforced (no ACLs),
# a TLS-only bucket policy merged with the caller's documents, lifecycle rules.
# CKV_AWS_18 (access logging) and CKV_AWS_145 (SSE-KMS) fail for an access-log target by design:
# they are skipped on the module call that makes one, so every data bucket is still checked.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  log_target = length(var.access_log_sources) > 0
  # Built from the name (an S3 ARN is nothing else), so the policy is known at plan time
  # whenever the inputs are, and the plan tests read it rendered.
  arn = "arn:${data.aws_partition.current.partition}:s3:::${var.name}"
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a per-environment decision about which data needs a second region, not a default of every bucket; no bucket of this platform replicates yet.
  #checkov:skip=CKV2_AWS_62:No bucket of this platform has an event consumer (the ETL runs on a schedule, hosts read artifacts at boot, nobody reacts to access logs); notifications would go nowhere.
  bucket        = var.name
  force_destroy = var.force_destroy
  tags          = var.tags

  lifecycle {
    precondition {
      condition     = local.log_target ? (var.kms_key_arn == null && var.access_logs == null) : (var.kms_key_arn != null && var.access_logs != null)
      error_message = "A data bucket needs kms_key_arn and access_logs; an access-log target (access_log_sources set) takes neither: it is SSE-S3 and does not log itself."
    }
  }
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
      sse_algorithm     = local.log_target ? "AES256" : "aws:kms"
      kms_master_key_id = local.log_target ? null : var.kms_key_arn
    }
    # One data key per bucket and period instead of per object: far fewer KMS calls.
    bucket_key_enabled = local.log_target ? null : true
  }
}

resource "aws_s3_bucket_logging" "this" {
  count         = local.log_target ? 0 : 1
  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_logs.target_bucket
  target_prefix = var.access_logs.target_prefix
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  dynamic "rule" {
    for_each = var.lifecycle_rules
    content {
      id     = rule.value.id
      status = "Enabled"
      # prefix null: an empty filter, the whole bucket.
      filter {
        prefix = rule.value.prefix
      }
      dynamic "transition" {
        for_each = rule.value.transitions
        content {
          days          = transition.value.days
          storage_class = transition.value.storage_class
        }
      }
      dynamic "expiration" {
        for_each = rule.value.expiration_days == null ? [] : [rule.value.expiration_days]
        content {
          days = expiration.value
        }
      }
      dynamic "noncurrent_version_expiration" {
        for_each = rule.value.noncurrent_expiration_days == null ? [] : [rule.value.noncurrent_expiration_days]
        content {
          noncurrent_days = noncurrent_version_expiration.value
        }
      }
    }
  }

  # Bucket-wide (empty filter), always: a multipart upload under any key is aborted and its parts
  # deleted instead of billed forever. Last, and a dynamic block of one, because checkov's source
  # scan keeps only the last block of a name when it renders dynamic blocks (CKV_AWS_300 would
  # not see a static rule or one placed first).
  dynamic "rule" {
    for_each = [var.abort_incomplete_multipart_days]
    content {
      id     = "abort-incomplete-multipart-uploads"
      status = "Enabled"
      filter {}
      abort_incomplete_multipart_upload {
        days_after_initiation = rule.value
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "this" {
  # The caller's statements first; a statement below with the same sid replaces the caller's.
  source_policy_documents = var.policy_documents

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.arn, "${local.arn}/*"]
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

  # A PutObject asking for another algorithm (AES256) is refused; with
  # require_kms_upload_headers one that names none is refused too (else the default applies).
  dynamic "statement" {
    for_each = local.log_target ? [] : [1]
    content {
      sid       = "DenyNonKmsEncryption"
      effect    = "Deny"
      actions   = ["s3:PutObject"]
      resources = ["${local.arn}/*"]
      principals {
        type        = "AWS"
        identifiers = ["*"]
      }
      condition {
        test     = "StringNotEquals"
        variable = "s3:x-amz-server-side-encryption"
        values   = ["aws:kms"]
      }
      dynamic "condition" {
        for_each = var.require_kms_upload_headers ? [] : [1]
        content {
          test     = "Null"
          variable = "s3:x-amz-server-side-encryption"
          values   = ["false"]
        }
      }
    }
  }

  # With SSE-KMS a caller could still name a key an outsider controls: only this bucket's key.
  dynamic "statement" {
    for_each = local.log_target ? [] : [1]
    content {
      sid       = "DenyOtherKmsKeys"
      effect    = "Deny"
      actions   = ["s3:PutObject"]
      resources = ["${local.arn}/*"]
      principals {
        type        = "AWS"
        identifiers = ["*"]
      }
      condition {
        test     = var.require_kms_upload_headers ? "StringNotEquals" : "StringNotEqualsIfExists"
        variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
        values   = [var.kms_key_arn]
      }
    }
  }

  # Log delivery: one statement per source bucket (moto's logging check wants the Resource to
  # be exactly <bucket>/<prefix>*), only for that bucket of this account.
  dynamic "statement" {
    for_each = var.access_log_sources
    content {
      sid       = statement.key == 0 ? "S3ServerAccessLogDelivery" : "S3ServerAccessLogDelivery${statement.key}"
      actions   = ["s3:PutObject"]
      resources = ["${local.arn}/${statement.value.prefix}*"]
      principals {
        type        = "Service"
        identifiers = ["logging.s3.amazonaws.com"]
      }
      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = [statement.value.bucket_arn]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [data.aws_caller_identity.current.account_id]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json
  # The public access block must exist first or a policy update can race it.
  depends_on = [aws_s3_bucket_public_access_block.this]

  lifecycle {
    # Referencing var.policy_waits_for makes the policy wait for what it names.
    precondition {
      condition     = alltrue([for v in var.policy_waits_for : v != null && v != ""])
      error_message = "policy_waits_for: every value must be non-empty."
    }
  }
}
