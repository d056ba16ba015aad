output "key_arn" {
  description = "ARN of the key (what SSE-KMS, log groups, EBS and IAM policies name)."
  value       = aws_kms_key.this.arn
}

output "key_id" {
  description = "Key id (the UUID)."
  value       = aws_kms_key.this.key_id
}

output "alias_name" {
  description = "Alias name, `alias/<alias>`."
  value       = aws_kms_alias.this.name
}

output "alias_arn" {
  description = "ARN of the alias."
  value       = aws_kms_alias.this.arn
}

output "admin_actions" {
  description = "The key-administration actions every administrator gets (for tests and documentation)."
  value       = local.admin_actions
}
