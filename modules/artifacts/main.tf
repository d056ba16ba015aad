data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  create_kms_key  = var.kms_key_arn == null
  kms_key_arn     = local.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn
  create_log      = var.access_logs.target_bucket == null
  log_bucket_name = local.create_log ? "${substr(var.bucket_name, 0, 58)}-logs" : var.access_logs.target_bucket
}

# -- encryption key -------------------------------------------------------------------------------

resource "aws_kms_key" "this" {
  count                   = local.create_kms_key ? 1 : 0
  description             = "SSE-KMS for the ${var.bucket_name} artifacts bucket"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  # Readers get kms:Decrypt from their own role policies, scoped to this key and to S3.
  policy = data.aws_iam_policy_document.kms[0].json
  tags   = merge(var.tags, { Name = "${var.bucket_name}-artifacts" })
}

data "aws_iam_policy_document" "kms" {
  count = local.create_kms_key ? 1 : 0
  #checkov:skip=CKV_AWS_109,CKV_AWS_111,CKV_AWS_356:Key policy, where Resource "*" can only mean this key. The account root (i.e. IAM) administers the key with listed admin actions and no cryptographic use, so it cannot be locked out; use is allowed only through S3 (this bucket's objects) (kms:ViaService), and IAM policies still decide which principals.
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
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid       = "AccountPrincipalsUseTheKeyOnlyThroughServices"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_kms_alias" "this" {
  count         = local.create_kms_key ? 1 : 0
  name          = "alias/${replace(var.bucket_name, ".", "-")}"
  target_key_id = aws_kms_key.this[0].key_id
}

# -- the artifacts bucket -------------------------------------------------------------------------

resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV_AWS_144: artifacts are rebuilt from the repository and dumps are a convenience copy; cross-region replication is a per-environment choice outside this module.
  # checkov:skip=CKV2_AWS_62: nothing reacts to artifact uploads; hosts read them at boot.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { Name = var.bucket_name })
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
      kms_master_key_id = local.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-backups"
    status = "Enabled"
    filter {
      prefix = var.backup_prefix
    }
    expiration {
      days = var.backup_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "noncurrent-artifacts"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_logging" "this" {
  bucket        = aws_s3_bucket.this.id
  target_bucket = local.create_log ? aws_s3_bucket.logs[0].id : var.access_logs.target_bucket
  target_prefix = var.access_logs.target_prefix

  # S3 checks that the target admits log delivery when logging is switched on.
  depends_on = [aws_s3_bucket_policy.logs]
}

data "aws_iam_policy_document" "this" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # Uploads must ask for SSE-KMS (or rely on the bucket default by saying nothing): an
  # explicit request for another algorithm (AES256, or none) is refused.
  statement {
    sid     = "DenyNonKmsEncryption"
    effect  = "Deny"
    actions = ["s3:PutObject"]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    resources = ["${aws_s3_bucket.this.arn}/*"]
    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["aws:kms"]
    }
    condition {
      test     = "Null"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["false"]
    }
  }

  # With SSE-KMS, a caller could still name a different key; only this bucket's key is allowed.
  statement {
    sid     = "DenyOtherKmsKeys"
    effect  = "Deny"
    actions = ["s3:PutObject"]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    resources = ["${aws_s3_bucket.this.arn}/*"]
    condition {
      test     = "StringNotEqualsIfExists"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = [local.kms_key_arn]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json

  # The uploads go first: they already use TLS and this bucket's key, and emulators that
  # evaluate Deny statements without their conditions (moto) would refuse them otherwise.
  depends_on = [aws_s3_bucket_public_access_block.this, aws_s3_object.this]
}

# -- uploads --------------------------------------------------------------------------------------

resource "aws_s3_object" "this" {
  for_each     = var.artifacts
  bucket       = aws_s3_bucket.this.id
  key          = each.key
  source       = each.value.source
  source_hash  = filemd5(each.value.source) # a changed file is uploaded again on apply
  content_type = each.value.content_type
  # Explicit SSE-KMS with the bucket key, matching the bucket policy's requirements.
  server_side_encryption = "aws:kms"
  kms_key_id             = local.kms_key_arn
  bucket_key_enabled     = true
  tags                   = var.tags

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.this, aws_s3_bucket_public_access_block.this]
}
