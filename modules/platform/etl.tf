# The scheduled ETL: reads the raw bucket, loads the warehouse over TLS it verifies with the
# CA the host publishes. The module grants its own role what it needs on the warehouse's
# password (parameter and key), so nothing here patches its role.

module "etl" {
  source       = "../etl"
  name         = var.name
  package_path = local.packages.etl.path
  package_hash = local.packages.etl.hash
  vpc = {
    vpc_id                      = module.network.vpc_id
    subnet_ids                  = module.network.private_subnet_ids
    s3_prefix_list_id           = module.endpoints.s3_prefix_list_id
    endpoints_security_group_id = module.endpoints.security_group_id
  }
  warehouse = {
    security_group_id      = module.warehouse.security_group_id
    host                   = module.warehouse.private_ip
    port                   = module.warehouse.port
    database               = module.warehouse.database_name
    user                   = module.warehouse.admin_user
    password_parameter_arn = module.warehouse.password_parameter_arn
    password_kms_key_arn   = module.warehouse.kms_key_arn
    ca_parameter_name      = module.warehouse.ca_parameter_name
    ca_parameter_arn       = module.warehouse.ca_parameter_arn
  }
  raw = {
    bucket_name = module.ingest.raw_bucket_name
    kms_key_arn = module.ingest.kms_key_arn
    prefix      = module.ingest.raw_prefix
  }
  lambda             = { memory_size = var.sizes.etl_memory_mb, reserved_concurrency = var.lambda_reserved_concurrency.etl }
  log_retention_days = var.retention.log_days
  alarm_actions      = local.alarm_actions
}
