output "instance_id" {
  description = "ID of the instance (the Session Manager target)."
  value       = aws_instance.this.id
}

output "private_ip" {
  description = "Private IPv4 address of the host (its clients' database host)."
  value       = aws_instance.this.private_ip
}

output "port" {
  description = "PostgreSQL port of the host."
  value       = 5432
}

output "database_name" {
  description = "Name of the database."
  value       = var.database.name
}

output "admin_user" {
  description = "The database owner role, which the clients log in as."
  value       = var.database.admin_user
}

output "password_parameter_name" {
  description = "SSM SecureString holding the owner's password. The value itself is never in state."
  value       = aws_ssm_parameter.password.name
}

output "password_parameter_arn" {
  description = "ARN of the password parameter, for a client role's ssm:GetParameter grant."
  value       = aws_ssm_parameter.password.arn
}

output "kms_key_arn" {
  description = "KMS key of the volumes and the password parameter (a client needs kms:Decrypt on it via SSM to read the password)."
  value       = local.kms_key_arn
}

output "security_group_id" {
  description = "Security group of the host; a client's group needs egress 5432 to it."
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
  description = "The rendered cloud-config (no secrets in it), exposed so tests can validate exactly what the host boots with."
  value       = local.user_data
}

output "host_env" {
  description = "The settings written to /etc/clickstream/host.env, as a map (docs/hosts.md lists every key)."
  value       = local.host_env
}

output "status_parameter_name" {
  description = "SSM String the bootstrap writes its status to: \"pending\" until the first boot reports, then \"ready <bundle sha256>\" or \"failed <step>: <message>\"."
  value       = aws_ssm_parameter.status.name
}

output "status_parameter_arn" {
  description = "ARN of the status parameter (for a reader's ssm:GetParameter grant, e.g. a deployment check)."
  value       = aws_ssm_parameter.status.arn
}

output "ca_parameter_name" {
  description = "SSM String the bootstrap publishes the server's CA certificate (PEM) to; clients verify the server with it (sslmode verify-full)."
  value       = aws_ssm_parameter.ca.name
}

output "ca_parameter_arn" {
  description = "ARN of the CA parameter, for a client role's ssm:GetParameter grant (a String: no KMS grant needed)."
  value       = aws_ssm_parameter.ca.arn
}

output "bootstrap_status_command" {
  description = "Command printing the host's bootstrap status (needs ssm:GetParameter on the status parameter)."
  value       = "aws ssm get-parameter --region ${local.region} --name ${aws_ssm_parameter.status.name} --query Parameter.Value --output text"
}
