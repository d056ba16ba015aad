output "function_name" {
  description = "Name of the ETL Lambda function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the ETL Lambda function."
  value       = module.function.function_arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = module.function.role_arn
}

output "role_name" {
  description = "Name of the function's execution role, for grants the caller adds (no ARN to split)."
  value       = module.function.role_name
}

output "security_group_id" {
  description = "Security group of the function; the warehouse security group must allow 5432 from it."
  value       = aws_security_group.this.id
}

output "failure_queue_arn" {
  description = "SQS queue receiving failed invocations (on-failure destination and DLQ)."
  value       = aws_sqs_queue.failures.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = module.function.log_group_name
}

output "schedule_rule_arn" {
  description = "EventBridge rule that triggers the runs."
  value       = aws_cloudwatch_event_rule.this.arn
}

output "log_kms_key_arn" {
  description = "ARN of the KMS key encrypting the function's log group (the module's own key, or kms_key_arn when given)."
  value       = local.kms_key_arn
}
