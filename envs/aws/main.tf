# The platform in a real AWS account (modules/platform holds the whole composition): the one
# root of every account env. It only passes envs/<env>/terraform.tfvars through: the
# settings' types, validations and defaults are the platform's. Run through
# `make plan ENV=<env>` / `make apply ENV=<env>` after `make build` (Lambda zips) and
# `make host-bundle` (the database hosts' bundles); README.md says what that runs.

module "platform" {
  source  = "../../modules/platform"
  name    = "clickstream-${var.environment}"
  network = { vpc_cidr = var.vpc_cidr, availability_zones = var.availability_zones }
  packages = {
    ingest  = { path = var.ingest_package_path, hash = var.ingest_package_hash }
    etl     = { path = var.etl_package_path, hash = var.etl_package_hash }
    batcher = { path = var.batcher_package_path, hash = var.batcher_package_hash }
  }
  repo_root                   = var.repo_root
  host_bundles                = var.host_bundles
  allowed_app_ids             = var.allowed_app_ids
  shop_origins                = var.shop_origins
  ami_id                      = var.ami_id
  sizes                       = var.sizes
  retention                   = var.retention
  deletion_protection         = var.deletion_protection
  alarms                      = var.alarms
  frontend                    = var.frontend
  lambda_reserved_concurrency = var.lambda_reserved_concurrency
}
