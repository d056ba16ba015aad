output "s3_endpoint_id" {
  description = "ID of the S3 Gateway endpoint."
  value       = aws_vpc_endpoint.s3.id
}

output "s3_prefix_list_id" {
  description = "Prefix list ID of S3 in this region: security groups of private hosts allow 443 egress to it."
  value       = aws_vpc_endpoint.s3.prefix_list_id
}

output "s3_endpoint_policy" {
  description = "The S3 endpoint policy document (JSON) as applied."
  value       = local.s3_policy
}

output "s3_allowed_resources" {
  description = "Every S3 resource ARN the endpoint policy allows (platform buckets, their objects, the AL2023 repository and the SSM Agent buckets)."
  value       = flatten([for s in local.s3_statements : s.Resource])
}

output "al2023_repository_bucket" {
  description = "Name of the region's Amazon Linux 2023 repository bucket the endpoint policy allows (null when not allowed)."
  value       = var.allow_al2023_repositories ? local.al2023_repo_bucket : null
}

output "ssm_agent_buckets" {
  description = "Names of the AWS-owned SSM Agent buckets the endpoint policy allows read-only (empty when not allowed)."
  value       = var.allow_ssm_agent_buckets ? local.ssm_agent_buckets : []
}

output "interface_endpoint_ids" {
  description = "Interface endpoint IDs keyed by service short name (ssm, ssmmessages, ec2messages, extras)."
  value       = { for k, e in aws_vpc_endpoint.interface : k => e.id }
}

output "interface_endpoint_services" {
  description = "Full service names of the interface endpoints, keyed by short name."
  value       = { for k, e in aws_vpc_endpoint.interface : k => e.service_name }
}

output "security_group_id" {
  description = "Security group of the interface endpoints (443 from the VPC CIDR only)."
  value       = aws_security_group.this.id
}
