output "id" {
  description = "Bucket name, available once encryption, the public access block, ownership controls and versioning are in place (write objects through this one)."
  value       = aws_s3_bucket.this.id
  depends_on = [
    aws_s3_bucket_server_side_encryption_configuration.this,
    aws_s3_bucket_public_access_block.this,
    aws_s3_bucket_ownership_controls.this,
    aws_s3_bucket_versioning.this,
  ]
}

output "arn" {
  description = "Bucket ARN (for IAM and bucket policy statements), known at plan time."
  value       = local.arn
}

output "log_target_id" {
  description = "Bucket name once its bucket policy is in place: pass it as another bucket's access_logs.target_bucket, because S3 checks the target's policy when logging is switched on."
  value       = aws_s3_bucket.this.id
  depends_on  = [aws_s3_bucket_policy.this, aws_s3_bucket_server_side_encryption_configuration.this]
}

output "regional_domain_name" {
  description = "Regional domain name of the bucket."
  value       = aws_s3_bucket.this.bucket_regional_domain_name
}
