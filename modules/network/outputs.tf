output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC (security groups of endpoints and hosts admit from it)."
  value       = aws_vpc.this.cidr_block
}

output "vpc_arn" {
  description = "ARN of the VPC."
  value       = aws_vpc.this.arn
}

output "availability_zones" {
  description = "Availability zones the subnet tiers span, in input order."
  value       = var.availability_zones
}

output "public_subnet_ids" {
  description = "IDs of the public subnets in AZ order (empty when the public tier is off)."
  value       = [for az in var.availability_zones : aws_subnet.public[az].id if contains(keys(aws_subnet.public), az)]
}

output "public_subnet_ids_by_az" {
  description = "Public subnet IDs keyed by availability zone."
  value       = { for az, s in aws_subnet.public : az => s.id }
}

output "private_subnet_ids" {
  description = "IDs of the private (analytics) subnets in AZ order: ETL Lambda, DW host, interface endpoints."
  value       = [for az in var.availability_zones : aws_subnet.private[az].id]
}

output "private_subnet_ids_by_az" {
  description = "Private subnet IDs keyed by availability zone."
  value       = { for az, s in aws_subnet.private : az => s.id }
}

output "private_subnet_cidrs" {
  description = "CIDR blocks of the private subnets in AZ order."
  value       = [for az in var.availability_zones : aws_subnet.private[az].cidr_block]
}

output "data_subnet_ids" {
  description = "IDs of the data (OLTP) subnets in AZ order (empty when the data tier is off)."
  value       = [for az in var.availability_zones : aws_subnet.data[az].id if contains(keys(aws_subnet.data), az)]
}

output "data_subnet_ids_by_az" {
  description = "Data subnet IDs keyed by availability zone."
  value       = { for az, s in aws_subnet.data : az => s.id }
}

output "public_route_table_id" {
  description = "ID of the public route table (0.0.0.0/0 to the internet gateway), null when the public tier is off."
  value       = one(aws_route_table.public[*].id)
}

output "private_route_table_ids" {
  description = "IDs of the private route tables in AZ order (no default route)."
  value       = [for az in var.availability_zones : aws_route_table.private[az].id]
}

output "private_route_table_ids_by_az" {
  description = "Private route table IDs keyed by availability zone."
  value       = { for az, rt in aws_route_table.private : az => rt.id }
}

output "data_route_table_ids" {
  description = "IDs of the data-tier route tables in AZ order (empty when the data tier is off)."
  value       = [for az in var.availability_zones : aws_route_table.data[az].id if contains(keys(aws_route_table.data), az)]
}

output "isolated_route_table_ids" {
  description = "Every route table without internet access (private then data tier): what gateway endpoints attach to."
  value = concat(
    [for az in var.availability_zones : aws_route_table.private[az].id],
    [for az in var.availability_zones : aws_route_table.data[az].id if contains(keys(aws_route_table.data), az)],
  )
}

output "internet_gateway_id" {
  description = "ID of the internet gateway, null when the public tier is off."
  value       = one(aws_internet_gateway.this[*].id)
}

output "default_security_group_id" {
  description = "ID of the VPC's default security group (managed with no rules)."
  value       = aws_default_security_group.this.id
}

output "flow_log_id" {
  description = "ID of the VPC flow log, null when flow logs are off."
  value       = one(aws_flow_log.this[*].id)
}

output "flow_log_group_name" {
  description = "CloudWatch Logs group receiving the flow logs, null when flow logs are off."
  value       = one(aws_cloudwatch_log_group.flow_logs[*].name)
}

output "flow_log_kms_key_arn" {
  description = "ARN of the KMS key encrypting the flow logs (created here or passed in), null when flow logs are off."
  value       = var.flow_logs.enabled ? (local.create_kms_key ? module.flow_logs_key[0].key_arn : var.flow_logs.kms_key_arn) : null
}
