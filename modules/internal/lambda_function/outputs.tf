output "function_name" {
  description = "Name of the function (the FunctionName dimension of its metrics)."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the function (EventBridge targets, permissions)."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "Invoke ARN of the function (API Gateway integrations)."
  value       = aws_lambda_function.this.invoke_arn
}

output "role_arn" {
  description = "ARN of the execution role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the execution role: the caller attaches the permissions of the function's own work to it (aws_iam_role_policy.role)."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "Name of the function's log group, /aws/lambda/<name>."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the function's log group."
  value       = aws_cloudwatch_log_group.this.arn
}
