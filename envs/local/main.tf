# The platform as the emulator runs it: everything but the front end (moto has no Amplify).
# Used by tests/e2e/test_env_local_apply.py and `make demo` (clickstream.local_platform).

data "aws_ami" "amazon_linux" {
  count       = var.ami_id == null ? 1 : 0
  most_recent = true
  owners      = ["amazon"]
  filter {
    name   = "name"
    values = ["amzn*x86_64*"]
  }
  filter {
    name   = "architecture"
    values = ["x86_64"]
  }
}

locals {
  repo      = coalesce(var.repo_root, abspath("${path.root}/../.."))
  ami_id    = var.ami_id != null ? var.ami_id : data.aws_ami.amazon_linux[0].id
  azs       = ["${var.region}a", "${var.region}b"]
  artifacts = "${var.name}-artifacts"

  # What the hosts boot: one content-addressed bundle per role (`make host-bundle` ->
  # build/hosts, docs/hosts.md), stored under a key that names its hash.
  host_bundles = {
    for role, b in var.host_bundles : role => b != null ? b : {
      path   = "${local.repo}/build/hosts/${role}.tar.gz"
      sha256 = trimspace(file("${local.repo}/build/hosts/${role}.tar.gz.sha256"))
    }
  }
  bundle_keys = {
    warehouse = "dw/bundles/warehouse-${local.host_bundles.warehouse.sha256}.tar.gz"
    oltp      = "oltp/bundles/oltp-${local.host_bundles.oltp.sha256}.tar.gz"
  }
}

module "network" {
  source             = "../../modules/network"
  name               = var.name
  vpc_cidr           = "10.20.0.0/16"
  availability_zones = local.azs
  subnets            = { data_tier = true, public_tier = false }
  flow_logs          = { retention_in_days = 365 } # a year, as in dev/prod: the gate scans this env too
}

module "ingest" {
  source             = "../../modules/ingest"
  name               = var.name
  package_path       = var.ingest_package_path
  package_hash       = var.ingest_package_hash
  allowed_app_ids    = var.allowed_app_ids
  cors_allow_origins = var.cors_allow_origins
  lambda             = { reserved_concurrency = var.lambda_reserved_concurrency.ingest }
  log_retention_days = 365
  force_destroy      = true
}

module "artifacts" {
  source                = "../../modules/artifacts"
  bucket_name           = local.artifacts
  artifacts             = { for role, key in local.bundle_keys : key => { source = local.host_bundles[role].path, content_type = "application/gzip" } }
  backup_retention_days = 7
  force_destroy         = true
}

module "endpoints" {
  source          = "../../modules/endpoints"
  name            = var.name
  region          = var.region
  vpc_id          = module.network.vpc_id
  vpc_cidr        = module.network.vpc_cidr
  route_table_ids = module.network.isolated_route_table_ids
  subnet_ids      = module.network.private_subnet_ids
  bucket_arns     = [module.ingest.raw_bucket_arn, module.artifacts.bucket_arn]
}

module "warehouse" {
  #checkov:skip=CKV_AWS_189,CKV_AWS_337:The data volume (kms_key_id) and the password parameter (key_id) use the warehouse host's own customer managed key (modules/postgres_host), whose ARN is unknown until apply, so this plan has no value to check. tests/plan/test_warehouse.py (test_volumes_and_password_use_the_module_key) asserts from the plan's configuration that both reference that key.
  #checkov:skip=CKV_AWS_126:envs/local is only ever applied to the moto emulator, which lacks MonitorInstances (the provider calls it after RunInstances when monitoring is on); dev and prod keep the module default, detailed monitoring on.
  source                      = "../../modules/warehouse"
  name                        = var.name
  vpc_id                      = module.network.vpc_id
  subnet_id                   = module.network.private_subnet_ids[0]
  availability_zone           = local.azs[0]
  ami                         = { id = local.ami_id }
  instance_type               = "t3.medium"
  detailed_monitoring         = false # moto does not implement MonitorInstances; dev/prod keep it on
  data_volume                 = { size_gib = 20 }
  client_security_groups      = { etl = module.etl.security_group_id }
  client_cidrs                = module.network.private_subnet_cidrs
  s3_prefix_list_id           = module.endpoints.s3_prefix_list_id
  endpoints_security_group_id = module.endpoints.security_group_id
  bundle = {
    bucket_name = module.artifacts.bucket_name
    bucket_arn  = module.artifacts.bucket_arn
    kms_key_arn = module.artifacts.kms_key_arn
    key         = local.bundle_keys.warehouse
    sha256      = local.host_bundles.warehouse.sha256
  }
}

module "etl" {
  source       = "../../modules/etl"
  name         = var.name
  package_path = var.etl_package_path
  package_hash = var.etl_package_hash
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
    ca_parameter_name      = module.warehouse.ca_parameter_name
    ca_parameter_arn       = module.warehouse.ca_parameter_arn
  }
  raw = {
    bucket_name = module.ingest.raw_bucket_name
    kms_key_arn = module.ingest.kms_key_arn
    prefix      = module.ingest.raw_prefix
  }
  lambda             = { reserved_concurrency = var.lambda_reserved_concurrency.etl }
  log_retention_days = 365
}

# The warehouse password parameter is encrypted with the warehouse's key: the ETL reads it
# through SSM, which needs kms:Decrypt on that key (the etl module grants ssm:GetParameter).
data "aws_iam_policy_document" "etl_password_key" {
  statement {
    sid       = "DecryptWarehousePassword"
    actions   = ["kms:Decrypt"]
    resources = [module.warehouse.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "etl_password_key" {
  name   = "warehouse-password-key"
  role   = element(split("/", module.etl.role_arn), length(split("/", module.etl.role_arn)) - 1)
  policy = data.aws_iam_policy_document.etl_password_key.json
}

module "oltp" {
  #checkov:skip=CKV_AWS_189,CKV_AWS_337:The data volume (kms_key_id) and the password parameter (key_id) use the OLTP host's own customer managed key (modules/postgres_host), whose ARN is unknown until apply, so this plan has no value to check. tests/plan/test_oltp.py (test_volumes_and_password_use_the_module_key) asserts from the plan's configuration that both reference that key.
  #checkov:skip=CKV_AWS_126:envs/local is only ever applied to the moto emulator, which lacks MonitorInstances (the provider calls it after RunInstances when monitoring is on); dev and prod keep the module default, detailed monitoring on.
  source                      = "../../modules/oltp"
  name                        = var.name
  vpc_id                      = module.network.vpc_id
  subnet_id                   = module.network.data_subnet_ids[0]
  availability_zone           = local.azs[0]
  ami                         = { id = local.ami_id }
  instance_type               = "t3.medium"
  detailed_monitoring         = false # moto does not implement MonitorInstances; dev/prod keep it on
  data_volume                 = { size_gib = 20 }
  client_security_groups      = {} # the shop's app tier is not in this VPC yet: nothing may connect
  s3_prefix_list_id           = module.endpoints.s3_prefix_list_id
  endpoints_security_group_id = module.endpoints.security_group_id
  bundle = {
    bucket_name = module.artifacts.bucket_name
    bucket_arn  = module.artifacts.bucket_arn
    kms_key_arn = module.artifacts.kms_key_arn
    key         = local.bundle_keys.oltp
    sha256      = local.host_bundles.oltp.sha256
  }
}
