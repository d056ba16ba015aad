output "raw_bucket_name" {
  description = "Raw events bucket (RAW_BUCKET)."
  value       = module.ingest.raw_bucket_name
}

output "ingest_function_name" {
  description = "Name of the ingest Lambda (the deployed artifact the harness runs)."
  value       = module.ingest.function_name
}

output "ingest_api_id" {
  description = "ID of the HTTP API in front of the ingest Lambda."
  value       = module.ingest.api_id
}

output "events_url" {
  description = "URL the tracker posts to (in the emulator, served by the harness's HTTP adapter)."
  value       = module.ingest.events_url
}

output "batcher_function_name" {
  description = "Name of the batcher Lambda fed by the buffer queue (in the emulator, run by the harness's SQS poller)."
  value       = module.ingest.batcher_function_name
}

output "buffer_queue_url" {
  description = "URL of the ingest buffer queue (BUFFER_QUEUE_URL of the ingest Lambda)."
  value       = module.ingest.buffer_queue_url
}

output "buffer_dlq_arn" {
  description = "ARN of the buffer's dead-letter queue."
  value       = module.ingest.buffer_dlq_arn
}

output "etl_function_name" {
  description = "Name of the ETL Lambda."
  value       = module.etl.function_name
}

output "etl_role_name" {
  description = "Execution role of the ETL Lambda, for grants added outside the platform."
  value       = module.etl.role_name
}

output "artifacts_bucket_name" {
  description = "Artifacts bucket of the hosts (bundles, dumps)."
  value       = module.artifacts.bucket_name
}

output "warehouse_instance_id" {
  description = "Instance ID of the warehouse host (Session Manager target)."
  value       = module.warehouse.instance_id
}

output "warehouse_password_parameter_name" {
  description = "SSM parameter holding the generated warehouse password (DW_PASSWORD_PARAM)."
  value       = module.warehouse.password_parameter_name
}

output "warehouse_ca_parameter_name" {
  description = "SSM parameter holding the warehouse's TLS CA certificate (the ETL verifies the server with it)."
  value       = module.warehouse.ca_parameter_name
}

output "warehouse_bootstrap_status_command" {
  description = "Prints the warehouse's bootstrap status (\"ready <bundle sha256>\" or \"failed <step>: <message>\")."
  value       = module.warehouse.bootstrap_status_command
}

output "shiny_port_forward_command" {
  description = "Session Manager port forwarding to the dashboards."
  value       = module.warehouse.shiny_port_forward_command
}

output "oltp_instance_id" {
  description = "Instance ID of the OLTP host."
  value       = module.oltp.instance_id
}

output "oltp_password_parameter_name" {
  description = "SSM parameter holding the generated OLTP owner password."
  value       = module.oltp.password_parameter_name
}

output "oltp_bootstrap_status_command" {
  description = "Prints the OLTP host's bootstrap status."
  value       = module.oltp.bootstrap_status_command
}

output "shop_url" {
  description = "HTTPS URL of the shop's served branch (CloudFront managed by Amplify); null without a front end."
  value       = one(module.frontend[*].branch_url)
}

output "user_pool_id" {
  description = "Cognito user pool of the shop's customers; null without a front end."
  value       = one(module.frontend[*].user_pool_id)
}

output "alarm_topic_arn" {
  description = "SNS topic receiving the alarms; null when alarms are off."
  value       = one(aws_sns_topic.alarms[*].arn)
}
