# What the shop's application tier needs to connect, and what operators and tests read.

output "instance_id" {
  description = "ID of the OLTP database instance (the Session Manager target)."
  value       = module.host.instance_id
}

output "private_ip" {
  description = "Private IPv4 address of the OLTP database (the application tier's database host)."
  value       = module.host.private_ip
}

output "port" {
  description = "PostgreSQL port of the OLTP database."
  value       = module.host.port
}

output "database_name" {
  description = "Name of the shop database."
  value       = module.host.database_name
}

output "admin_user" {
  description = "Role the shop's application logs in as (owner of the shop schema)."
  value       = module.host.admin_user
}

output "password_parameter_name" {
  description = "SSM SecureString holding the owner's password. The value itself is never in state."
  value       = module.host.password_parameter_name
}

output "password_parameter_arn" {
  description = "ARN of the password parameter, for the application's ssm:GetParameter grant."
  value       = module.host.password_parameter_arn
}

output "kms_key_arn" {
  description = "KMS key of the volumes and the password parameter (the application needs kms:Decrypt on it via SSM)."
  value       = module.host.kms_key_arn
}

output "security_group_id" {
  description = "Security group of the OLTP database; the application tier's group needs egress 5432 to it."
  value       = module.host.security_group_id
}

output "role_name" {
  description = "Name of the instance role."
  value       = module.host.role_name
}

output "role_arn" {
  description = "ARN of the instance role."
  value       = module.host.role_arn
}

output "data_volume_id" {
  description = "ID of the data volume holding the shop's PostgreSQL cluster (survives instance replacement)."
  value       = module.host.data_volume_id
}

output "ami_id" {
  description = "AMI the instance was launched from."
  value       = module.host.ami_id
}

output "user_data" {
  description = "The rendered cloud-config (no secrets in it), for tests."
  value       = module.host.user_data
}

output "status_parameter_name" {
  description = "SSM String the OLTP host's bootstrap writes its status to."
  value       = module.host.status_parameter_name
}

output "bootstrap_status_command" {
  description = "Command printing the OLTP host's bootstrap status."
  value       = module.host.bootstrap_status_command
}

output "ca_parameter_name" {
  description = "SSM String holding the OLTP host's TLS CA certificate, for the application's verify-full connections."
  value       = module.host.ca_parameter_name
}

output "ca_parameter_arn" {
  description = "ARN of the CA parameter."
  value       = module.host.ca_parameter_arn
}
