# Passed through to modules/platform, whose variables.tf types, validates and documents
# each; null (the default here) means the platform's default.

variable "name" {
  description = "Name prefix of every resource of this environment."
  type        = string
  default     = "clickstream-local"
}

variable "region" {
  description = "Region of the provider (the emulator accepts any); the two zones are <region>a and <region>b."
  type        = string
  default     = "us-east-1"
}

variable "cors_allow_origins" {
  description = "Origins the demo shop is served from (modules/platform shop_origins: the tracker posts cross-origin)."
  type        = list(string)
  default     = ["http://127.0.0.1:8000", "http://localhost:8000"]
}

variable "ingest_package_path" { description = "build/lambda/ingest.zip (clickstream.build.build_lambda(\"ingest\"))." }
variable "ingest_package_hash" { description = "Base64 SHA-256 of the ingest zip." }
variable "etl_package_path" { description = "build/lambda/etl.zip (clickstream.build.build_lambda(\"etl\"))." }
variable "etl_package_hash" { description = "Base64 SHA-256 of the ETL zip." }
variable "batcher_package_path" { description = "build/lambda/batcher.zip (clickstream.build.build_lambda(\"batcher\"))." }
variable "batcher_package_hash" { description = "Base64 SHA-256 of the batcher zip." }
variable "allowed_app_ids" {
  description = "modules/platform's allowed_app_ids; null takes its default."
  default     = null
}
variable "ami_id" {
  description = "modules/platform's ami_id; null takes its default."
  default     = null
}
variable "lambda_reserved_concurrency" {
  description = "modules/platform's lambda_reserved_concurrency; null takes its default."
  default     = null
}
variable "host_bundles" {
  description = "modules/platform's host_bundles; null takes its default."
  default     = null
}
variable "repo_root" {
  description = "modules/platform's repo_root; null takes its default."
  default     = null
}
