# The VPC (private and data tiers, no public tier, no NAT) and the endpoints through which
# the private subnets reach S3 (gateway, limited to the platform's buckets) and SSM, KMS,
# logs (interface endpoints).

module "network" {
  source             = "../network"
  name               = var.name
  vpc_cidr           = var.network.vpc_cidr
  availability_zones = var.network.availability_zones
  subnets            = { data_tier = true, public_tier = false }
  flow_logs          = { retention_in_days = var.retention.log_days }
}

module "endpoints" {
  source          = "../endpoints"
  name            = var.name
  region          = local.region
  vpc_id          = module.network.vpc_id
  vpc_cidr        = module.network.vpc_cidr
  route_table_ids = module.network.isolated_route_table_ids
  subnet_ids      = module.network.private_subnet_ids
  bucket_arns     = [module.ingest.raw_bucket_arn, module.artifacts.bucket_arn]
}
