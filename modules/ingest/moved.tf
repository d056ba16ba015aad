# The key and both buckets now come from modules/internal (kms_key, private_bucket): the moves
# keep an applied key, the raw events and the access logs in place.

moved {
  from = aws_kms_key.this
  to   = module.key.aws_kms_key.this
}

moved {
  from = aws_kms_alias.this
  to   = module.key.aws_kms_alias.this
}

moved {
  from = aws_s3_bucket_logging.this
  to   = module.raw_bucket.aws_s3_bucket_logging.this[0]
}

moved {
  from = aws_s3_bucket.this
  to   = module.raw_bucket.aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_ownership_controls.this
  to   = module.raw_bucket.aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_public_access_block.this
  to   = module.raw_bucket.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_versioning.this
  to   = module.raw_bucket.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.this
  to   = module.raw_bucket.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.this
  to   = module.raw_bucket.aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = aws_s3_bucket_policy.this
  to   = module.raw_bucket.aws_s3_bucket_policy.this
}

moved {
  from = aws_s3_bucket.logs
  to   = module.log_bucket.aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_ownership_controls.logs
  to   = module.log_bucket.aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_public_access_block.logs
  to   = module.log_bucket.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_versioning.logs
  to   = module.log_bucket.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.logs
  to   = module.log_bucket.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.logs
  to   = module.log_bucket.aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = aws_s3_bucket_policy.logs
  to   = module.log_bucket.aws_s3_bucket_policy.this
}
