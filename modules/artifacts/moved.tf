# The key and both buckets now come from modules/internal (kms_key, private_bucket): the moves
# keep an applied key, the artifacts, the dumps and the access logs in place.

moved {
  from = aws_kms_key.this[0]
  to   = module.key[0].aws_kms_key.this
}

moved {
  from = aws_kms_alias.this[0]
  to   = module.key[0].aws_kms_alias.this
}

moved {
  from = aws_s3_bucket_logging.this
  to   = module.bucket.aws_s3_bucket_logging.this[0]
}

moved {
  from = aws_s3_bucket.this
  to   = module.bucket.aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_ownership_controls.this
  to   = module.bucket.aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_public_access_block.this
  to   = module.bucket.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_versioning.this
  to   = module.bucket.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.this
  to   = module.bucket.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.this
  to   = module.bucket.aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = aws_s3_bucket_policy.this
  to   = module.bucket.aws_s3_bucket_policy.this
}

moved {
  from = aws_s3_bucket.logs[0]
  to   = module.log_bucket[0].aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_ownership_controls.logs[0]
  to   = module.log_bucket[0].aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_public_access_block.logs[0]
  to   = module.log_bucket[0].aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_versioning.logs[0]
  to   = module.log_bucket[0].aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.logs[0]
  to   = module.log_bucket[0].aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.logs[0]
  to   = module.log_bucket[0].aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = aws_s3_bucket_policy.logs[0]
  to   = module.log_bucket[0].aws_s3_bucket_policy.this
}
