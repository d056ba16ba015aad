output "api_id" {
  description = "Id of the HTTP API."
  value       = aws_apigatewayv2_api.this.id
}

output "api_endpoint" {
  description = "Base URL of the HTTP API ($default stage)."
  value       = aws_apigatewayv2_api.this.api_endpoint
}

output "events_url" {
  description = "The URL the browser tracker posts to."
  value       = "${aws_apigatewayv2_api.this.api_endpoint}/v1/events"
}

output "function_name" {
  description = "Name of the ingest Lambda function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the ingest Lambda function."
  value       = module.function.function_arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = module.function.role_arn
}

output "raw_bucket_name" {
  description = "Name of the raw events bucket (input of the ETL)."
  value       = module.raw_bucket.id
}

output "raw_bucket_arn" {
  description = "ARN of the raw events bucket."
  value       = module.raw_bucket.arn
}

output "raw_prefix" {
  description = "Key prefix of accepted events; rejected events are under <raw_prefix>rejected/."
  value       = var.raw_prefix
}

output "kms_key_arn" {
  description = "ARN of the customer managed key encrypting the raw bucket and the log groups (readers such as the ETL need kms:Decrypt on it)."
  value       = module.key.key_arn
}

output "access_log_bucket_name" {
  description = "Name of the bucket receiving S3 server access logs of the raw bucket."
  value       = module.log_bucket.id
}

output "lambda_log_group_name" {
  description = "CloudWatch log group of the function."
  value       = module.function.log_group_name
}

output "api_access_log_group_name" {
  description = "CloudWatch log group of the API's JSON access logs."
  value       = aws_cloudwatch_log_group.access.name
}

output "buffer_queue_url" {
  description = "URL of the buffer queue ingest sends to (BUFFER_QUEUE_URL); null with buffer.enabled = false."
  value       = one(aws_sqs_queue.buffer[*].url)
}

output "buffer_queue_arn" {
  description = "ARN of the buffer queue; null with buffer.enabled = false."
  value       = one(aws_sqs_queue.buffer[*].arn)
}

output "buffer_dlq_arn" {
  description = "ARN of the buffer's dead-letter queue (messages the batcher failed 5 times); null with buffer.enabled = false."
  value       = one(aws_sqs_queue.buffer_dlq[*].arn)
}

output "batcher_function_name" {
  description = "Name of the batcher Lambda (the deployed artifact the harness's SQS poller runs); null with buffer.enabled = false."
  value       = one(module.batcher_function[*].function_name)
}
