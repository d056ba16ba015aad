variable "name" {
  description = "Name prefix of every resource of this environment."
  type        = string
  default     = "clickstream-local"
  nullable    = false
}

variable "region" {
  description = "Region of the provider (the emulator accepts any)."
  type        = string
  default     = "us-east-1"
  nullable    = false
}

variable "ingest_package_path" {
  description = "build/lambda/ingest.zip (clickstream.build.build_lambda(\"ingest\"))."
  type        = string
  nullable    = false
}

variable "ingest_package_hash" {
  description = "Base64 SHA-256 of the ingest zip (build/lambda/ingest.zip.b64sha256)."
  type        = string
  nullable    = false
}

variable "etl_package_path" {
  description = "build/lambda/etl.zip (clickstream.build.build_lambda(\"etl\"))."
  type        = string
  nullable    = false
}

variable "etl_package_hash" {
  description = "Base64 SHA-256 of the ETL zip (build/lambda/etl.zip.b64sha256)."
  type        = string
  nullable    = false
}

variable "allowed_app_ids" {
  description = "app_id values the ingest API accepts."
  type        = list(string)
  default     = ["shop-web"]
  nullable    = false
}

variable "cors_allow_origins" {
  description = "Origins the demo shop is served from (the tracker posts cross-origin)."
  type        = list(string)
  default     = ["http://127.0.0.1:8000", "http://localhost:8000"]
  nullable    = false
}

variable "ami_id" {
  description = "Image of the two database hosts; null looks up an Amazon Linux x86_64 image the emulator knows (the SSM public parameter does not exist there)."
  type        = string
  default     = null
}

variable "repo_root" {
  description = "Repository root the artifacts (sql/dw, sql/oltp, shiny_app, build/host-wheels) are read from; null means two levels above this folder. Tests pass it because they run a copy of the Terraform tree."
  type        = string
  default     = null
}
