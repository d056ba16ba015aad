# The ETL's settings (DW_HOST, DW_PORT, DW_NAME, DW_USER, DW_PASSWORD_PARAM and the CA it
# verifies the server with), the operator's commands, and what the tests read back.

output "instance_id" {
  description = "ID of the warehouse instance (the Session Manager target)."
  value       = module.host.instance_id
}

output "private_ip" {
  description = "Private IPv4 address of the warehouse (the ETL's DW_HOST)."
  value       = module.host.private_ip
}

output "port" {
  description = "PostgreSQL port of the warehouse (the ETL's DW_PORT)."
  value       = module.host.port
}

output "database_name" {
  description = "Name of the warehouse database (the ETL's DW_NAME)."
  value       = module.host.database_name
}

output "admin_user" {
  description = "Role the ETL logs in as (the ETL's DW_USER), owner of the dw schema."
  value       = module.host.admin_user
}

output "password_parameter_name" {
  description = "SSM SecureString holding the owner's password (the ETL's DW_PASSWORD_PARAM). The value itself is never in state."
  value       = module.host.password_parameter_name
}

output "password_parameter_arn" {
  description = "ARN of the password parameter, for the ETL role's ssm:GetParameter grant."
  value       = module.host.password_parameter_arn
}

output "kms_key_arn" {
  description = "KMS key of the volumes and the password parameter (the ETL needs kms:Decrypt on it via SSM)."
  value       = module.host.kms_key_arn
}

output "security_group_id" {
  description = "Security group of the warehouse; the ETL's group needs egress 5432 to it."
  value       = module.host.security_group_id
}

output "ca_parameter_name" {
  description = "SSM String the warehouse publishes its TLS CA certificate to (PEM): the ETL verifies the server with it."
  value       = module.host.ca_parameter_name
}

output "ca_parameter_arn" {
  description = "ARN of the CA parameter, for the ETL role's ssm:GetParameter grant (a String: no KMS grant needed)."
  value       = module.host.ca_parameter_arn
}

output "status_parameter_name" {
  description = "SSM String the warehouse's bootstrap writes its status to (\"ready <bundle sha256>\" or \"failed <step>: <message>\")."
  value       = module.host.status_parameter_name
}

output "bootstrap_status_command" {
  description = "Command printing the warehouse's bootstrap status."
  value       = module.host.bootstrap_status_command
}

output "shiny_port_forward_command" {
  description = "Command that forwards the dashboards to http://localhost:<port> on the operator's machine through Session Manager (needs the session-manager-plugin)."
  value       = "aws ssm start-session --region ${data.aws_region.current.name} --target ${module.host.instance_id} --document-name AWS-StartPortForwardingSession --parameters '{\"portNumber\":[\"${var.shiny.port}\"],\"localPortNumber\":[\"${var.shiny.port}\"]}'"
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
  description = "ID of the data volume holding the PostgreSQL cluster (survives instance replacement)."
  value       = module.host.data_volume_id
}

output "ami_id" {
  description = "AMI the instance was launched from."
  value       = module.host.ami_id
}

output "user_data" {
  description = "The rendered cloud-config (no secrets in it), exposed so tests can validate exactly what the host boots with."
  value       = module.host.user_data
}
