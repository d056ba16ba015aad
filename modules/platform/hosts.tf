# The two PostgreSQL hosts (warehouse, OLTP) and the artifacts bucket they boot from: one
# content-addressed bundle per role (`make host-bundle` -> build/hosts, docs/hosts.md), stored
# under a key that names its hash, and the bucket also keeps the hosts' dumps.

# The emulator has no SSM public AMI parameter: there, an unpinned image is looked up.
data "aws_ami" "amazon_linux" {
  count       = var.emulator && var.ami_id == null ? 1 : 0
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
  # null: the hosts' SSM public parameter (modules/postgres_host var.ami).
  ami_id = var.ami_id != null ? var.ami_id : one(data.aws_ami.amazon_linux[*].id)

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
  # What each host is told about its bundle (its own key and hash, never the other's).
  bundles = {
    for role, key in local.bundle_keys : role => {
      bucket_name = module.artifacts.bucket_name
      bucket_arn  = module.artifacts.bucket_arn
      kms_key_arn = module.artifacts.kms_key_arn
      key         = key
      sha256      = local.host_bundles[role].sha256
    }
  }
}

module "artifacts" {
  source                = "../artifacts"
  bucket_name           = "${var.name}-artifacts-${local.account_id}"
  artifacts             = { for role, key in local.bundle_keys : key => { source = local.host_bundles[role].path, content_type = "application/gzip" } }
  backup_retention_days = var.retention.backup_days
  force_destroy         = !var.deletion_protection
}

module "warehouse" {
  #checkov:skip=CKV_AWS_189,CKV_AWS_337:The data volume (kms_key_id) and the password parameter (key_id) use the warehouse host's own customer managed key (modules/postgres_host), whose ARN is unknown until apply, so this plan has no value to check. tests/plan/test_warehouse.py (test_volumes_and_password_use_the_module_key) asserts from the plan's configuration that both reference that key.
  #checkov:skip=CKV_AWS_126:Detailed monitoring is off only with var.emulator (envs/local, applied to the moto emulator only, which lacks MonitorInstances: the provider calls it after RunInstances when monitoring is on); dev and prod keep it on, as tests/plan/inventories/env_{dev,prod}.yaml assert.
  source                      = "../warehouse"
  name                        = var.name
  vpc_id                      = module.network.vpc_id
  subnet_id                   = module.network.private_subnet_ids_by_az[local.host_zone]
  availability_zone           = local.host_zone
  ami                         = { id = local.ami_id }
  instance_type               = var.sizes.warehouse_instance_type
  detailed_monitoring         = !var.emulator
  data_volume                 = { size_gib = var.sizes.warehouse_data_gib }
  client_security_groups      = { etl = module.etl.security_group_id }
  client_cidrs                = module.network.private_subnet_cidrs
  s3_prefix_list_id           = module.endpoints.s3_prefix_list_id
  endpoints_security_group_id = module.endpoints.security_group_id
  bundle                      = local.bundles.warehouse
}

module "oltp" {
  #checkov:skip=CKV_AWS_189,CKV_AWS_337:The data volume (kms_key_id) and the password parameter (key_id) use the OLTP host's own customer managed key (modules/postgres_host), whose ARN is unknown until apply, so this plan has no value to check. tests/plan/test_oltp.py (test_volumes_and_password_use_the_module_key) asserts from the plan's configuration that both reference that key.
  #checkov:skip=CKV_AWS_126:Detailed monitoring is off only with var.emulator (envs/local, applied to the moto emulator only, which lacks MonitorInstances: the provider calls it after RunInstances when monitoring is on); dev and prod keep it on, as tests/plan/inventories/env_{dev,prod}.yaml assert.
  source                      = "../oltp"
  name                        = var.name
  vpc_id                      = module.network.vpc_id
  subnet_id                   = module.network.data_subnet_ids_by_az[local.host_zone]
  availability_zone           = local.host_zone
  ami                         = { id = local.ami_id }
  instance_type               = var.sizes.oltp_instance_type
  detailed_monitoring         = !var.emulator
  data_volume                 = { size_gib = var.sizes.oltp_data_gib }
  client_security_groups      = {} # the shop's app tier is not in this VPC yet: nothing may connect
  s3_prefix_list_id           = module.endpoints.s3_prefix_list_id
  endpoints_security_group_id = module.endpoints.security_group_id
  bundle                      = local.bundles.oltp
}
