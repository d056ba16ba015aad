output "instance_id" {
  description = "ID of the OLTP database instance (the Session Manager target)."
  value       = aws_instance.this.id
}

output "private_ip" {
  description = "Private IPv4 address of the OLTP database (the application tier's database host)."
  value       = aws_instance.this.private_ip
}

output "port" {
  description = "PostgreSQL port of the OLTP database."
  value       = 5432
}

output "database_name" {
  description = "Name of the OLTP database database."
  value       = var.database.name
}

output "admin_user" {
  description = "Role the shop's application logs in as (owner of the shop schema)."
  value       = var.database.admin_user
}

output "password_parameter_name" {
  description = "SSM SecureString holding the admin password . The value itself is never in state."
  value       = aws_ssm_parameter.password.name
}

output "password_parameter_arn" {
  description = "ARN of the password parameter, for the application's ssm:GetParameter grant."
  value       = aws_ssm_parameter.password.arn
}

output "kms_key_arn" {
  description = "KMS key of the volumes and the password parameter (the application needs kms:Decrypt on it via SSM)."
  value       = local.kms_key_arn
}

output "security_group_id" {
  description = "Security group of the OLTP database; the application tier's group needs egress 5432 to it."
  value       = aws_security_group.this.id
}

output "role_name" {
  description = "Name of the instance role."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the instance role."
  value       = aws_iam_role.this.arn
}

output "data_volume_id" {
  description = "ID of the data volume holding the PostgreSQL cluster (survives instance replacement)."
  value       = aws_ebs_volume.data.id
}

output "ami_id" {
  description = "AMI the instance was launched from."
  value       = local.ami_id
}

output "user_data" {
  description = "The rendered cloud-init (no secrets in it), exposed so tests can validate exactly what the host boots with."
  value       = local.user_data
}
