# Forwarded from modules/platform (outputs.tf there describes each). One file for both roots:
# envs/local/outputs.tf is a symbolic link to this one.

output "raw_bucket_name" {
  description = "modules/platform's raw_bucket_name."
  value       = module.platform.raw_bucket_name
}
output "ingest_function_name" {
  description = "modules/platform's ingest_function_name."
  value       = module.platform.ingest_function_name
}
output "ingest_api_id" {
  description = "modules/platform's ingest_api_id."
  value       = module.platform.ingest_api_id
}
output "events_url" {
  description = "modules/platform's events_url."
  value       = module.platform.events_url
}
output "batcher_function_name" {
  description = "modules/platform's batcher_function_name."
  value       = module.platform.batcher_function_name
}
output "buffer_queue_url" {
  description = "modules/platform's buffer_queue_url."
  value       = module.platform.buffer_queue_url
}
output "buffer_dlq_arn" {
  description = "modules/platform's buffer_dlq_arn."
  value       = module.platform.buffer_dlq_arn
}
output "etl_function_name" {
  description = "modules/platform's etl_function_name."
  value       = module.platform.etl_function_name
}
output "etl_role_name" {
  description = "modules/platform's etl_role_name."
  value       = module.platform.etl_role_name
}
output "artifacts_bucket_name" {
  description = "modules/platform's artifacts_bucket_name."
  value       = module.platform.artifacts_bucket_name
}
output "warehouse_instance_id" {
  description = "modules/platform's warehouse_instance_id."
  value       = module.platform.warehouse_instance_id
}
output "warehouse_password_parameter_name" {
  description = "modules/platform's warehouse_password_parameter_name."
  value       = module.platform.warehouse_password_parameter_name
}
output "warehouse_ca_parameter_name" {
  description = "modules/platform's warehouse_ca_parameter_name."
  value       = module.platform.warehouse_ca_parameter_name
}
output "warehouse_bootstrap_status_command" {
  description = "modules/platform's warehouse_bootstrap_status_command."
  value       = module.platform.warehouse_bootstrap_status_command
}
output "shiny_port_forward_command" {
  description = "modules/platform's shiny_port_forward_command."
  value       = module.platform.shiny_port_forward_command
}
output "oltp_instance_id" {
  description = "modules/platform's oltp_instance_id."
  value       = module.platform.oltp_instance_id
}
output "oltp_password_parameter_name" {
  description = "modules/platform's oltp_password_parameter_name."
  value       = module.platform.oltp_password_parameter_name
}
output "oltp_bootstrap_status_command" {
  description = "modules/platform's oltp_bootstrap_status_command."
  value       = module.platform.oltp_bootstrap_status_command
}
output "shop_url" {
  description = "modules/platform's shop_url."
  value       = module.platform.shop_url
}
output "user_pool_id" {
  description = "modules/platform's user_pool_id."
  value       = module.platform.user_pool_id
}
output "alarm_topic_arn" {
  description = "modules/platform's alarm_topic_arn."
  value       = module.platform.alarm_topic_arn
}
