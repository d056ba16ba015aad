# The public HTTP API, the ingest Lambda behind it and the raw events bucket.

module "ingest" {
  source             = "../ingest"
  name               = var.name
  package_path       = local.packages.ingest.path
  package_hash       = local.packages.ingest.hash
  allowed_app_ids    = var.allowed_app_ids
  cors_allow_origins = var.shop_origins
  lambda             = { reserved_concurrency = var.lambda_reserved_concurrency.ingest }
  log_retention_days = var.retention.log_days
  force_destroy      = !var.deletion_protection
}
