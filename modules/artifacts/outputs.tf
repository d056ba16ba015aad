# bucket_name and bucket_arn are known at plan time (hosts render them into their cloud-init)
# yet depend on the uploads and the bucket's encryption and policy, so a host that reads them
# is created only once its files are in place.
output "bucket_name" {
  description = "Name of the artifacts bucket (available to consumers once every artifact is uploaded)."
  value       = var.bucket_name
  depends_on  = [aws_s3_object.this, module.bucket]
}

output "bucket_arn" {
  description = "ARN of the artifacts bucket (for the S3 endpoint policy and host IAM policies)."
  value       = "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_name}"
  depends_on  = [aws_s3_object.this, module.bucket]
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the bucket (readers need kms:Decrypt on it, dump writers kms:GenerateDataKey)."
  value       = local.kms_key_arn
}

output "backup_prefix" {
  description = "Key prefix of the database dumps (expiring after backup_retention_days)."
  value       = var.backup_prefix
}

output "log_bucket_name" {
  description = "Bucket receiving the server access logs (created here or passed in)."
  value       = local.log_bucket_name
}

output "object_keys" {
  description = "Keys of the uploaded artifacts."
  value       = sort(keys(aws_s3_object.this))
}

output "content_hashes" {
  description = "MD5 of each uploaded file keyed by object key, known at plan time: hosts fold it into a revision so changed artifacts redeploy them."
  value       = { for k, a in var.artifacts : k => filemd5(a.source) }
}

output "object_version_ids" {
  description = "S3 version ID of each uploaded artifact, keyed by object key."
  value       = { for k, o in aws_s3_object.this : k => o.version_id }
}
