# The platform as the emulator runs it (modules/platform with emulator = true): everything
# but the front end (moto has no Amplify), small hosts. Used by tests/e2e/test_local_env.py
# and `make demo` (clickstream.local_platform).

module "platform" {
  source   = "../../modules/platform"
  name     = var.name
  emulator = true
  network  = { availability_zones = ["${var.region}a", "${var.region}b"] }
  packages = {
    ingest  = { path = var.ingest_package_path, hash = var.ingest_package_hash }
    etl     = { path = var.etl_package_path, hash = var.etl_package_hash }
    batcher = { path = var.batcher_package_path, hash = var.batcher_package_hash }
  }
  repo_root                   = var.repo_root
  host_bundles                = var.host_bundles
  allowed_app_ids             = var.allowed_app_ids
  shop_origins                = var.cors_allow_origins
  ami_id                      = var.ami_id
  sizes                       = { warehouse_instance_type = "t3.medium", warehouse_data_gib = 20 }
  lambda_reserved_concurrency = var.lambda_reserved_concurrency
}
