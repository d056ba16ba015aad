# The public HTTP API, the ingest Lambda behind it, the raw events bucket and the SQS buffer
# with its batcher Lambda in between.

module "ingest" {
  source       = "../ingest"
  name         = var.name
  package_path = local.packages.ingest.path
  package_hash = local.packages.ingest.hash
  # The SQS buffer and its batcher (modules/ingest/buffer.tf). The emulator runs no event
  # source mapping (moto would try to invoke the function in Docker on every send), so there
  # it is created disabled and the harness plays it (clickstream.sqs_batcher); its SQS lacks
  # the DLQ's RedriveAllowPolicy attribute, so that policy exists outside the emulator only.
  batcher_package_path = local.packages.batcher.path
  batcher_package_hash = local.packages.batcher.hash
  buffer               = { mapping_enabled = !var.emulator, restrict_dlq_sources = !var.emulator }
  alarm_actions        = local.alarm_actions
  allowed_app_ids      = var.allowed_app_ids
  cors_allow_origins   = var.shop_origins
  lambda               = { reserved_concurrency = var.lambda_reserved_concurrency.ingest }
  log_retention_days   = var.retention.log_days
  force_destroy        = !var.deletion_protection
}
