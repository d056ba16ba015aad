# The platform in a real AWS account: every module, including the front end. dev and prod
# share this file; they differ only in terraform.tfvars (sizes, retention, deletion
# protection, alarms). Run through `make plan ENV=<env>` / `make apply ENV=<env>` after
# `make build` (Lambda zips) and `make host-bundle` (the database hosts' bundles).

data "aws_caller_identity" "current" {}

locals {
  name      = "clickstream-${var.environment}"
  repo      = coalesce(var.repo_root, abspath("${path.root}/../.."))
  azs       = var.availability_zones
  artifacts = "${local.name}-artifacts-${data.aws_caller_identity.current.account_id}"
  build     = "${local.repo}/build/lambda"
  ingest_package = {
    path = coalesce(var.ingest_package_path, "${local.build}/ingest.zip")
    hash = var.ingest_package_hash != null ? var.ingest_package_hash : trimspace(file("${local.build}/ingest.zip.b64sha256"))
  }
  etl_package = {
    path = coalesce(var.etl_package_path, "${local.build}/etl.zip")
    hash = var.etl_package_hash != null ? var.etl_package_hash : trimspace(file("${local.build}/etl.zip.b64sha256"))
  }
  alarm_actions = var.alarms.enabled ? [aws_sns_topic.alarms[0].arn] : []

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
  name               = local.name
  vpc_cidr           = var.vpc_cidr
  availability_zones = local.azs
  subnets            = { data_tier = true, public_tier = false }
  flow_logs          = { retention_in_days = var.retention.log_days }
}

module "ingest" {
  source             = "../../modules/ingest"
  name               = local.name
  package_path       = local.ingest_package.path
  package_hash       = local.ingest_package.hash
  allowed_app_ids    = var.allowed_app_ids
  cors_allow_origins = var.shop_origins
  lambda             = { reserved_concurrency = var.lambda_reserved_concurrency.ingest }
  log_retention_days = var.retention.log_days
  force_destroy      = !var.deletion_protection
}

module "artifacts" {
  source                = "../../modules/artifacts"
  bucket_name           = local.artifacts
  artifacts             = { for role, key in local.bundle_keys : key => { source = local.host_bundles[role].path, content_type = "application/gzip" } }
  backup_retention_days = var.retention.backup_days
  force_destroy         = !var.deletion_protection
}

module "endpoints" {
  source          = "../../modules/endpoints"
  name            = local.name
  region          = var.region
  vpc_id          = module.network.vpc_id
  vpc_cidr        = module.network.vpc_cidr
  route_table_ids = module.network.isolated_route_table_ids
  subnet_ids      = module.network.private_subnet_ids
  bucket_arns     = [module.ingest.raw_bucket_arn, module.artifacts.bucket_arn]
}

module "warehouse" {
  #checkov:skip=CKV_AWS_189,CKV_AWS_337:The data volume (kms_key_id) and the password parameter (key_id) use the warehouse host's own customer managed key (modules/postgres_host), whose ARN is unknown until apply, so this plan has no value to check. tests/plan/test_warehouse.py (test_volumes_and_password_use_the_module_key) asserts from the plan's configuration that both reference that key.
  source                      = "../../modules/warehouse"
  name                        = local.name
  vpc_id                      = module.network.vpc_id
  subnet_id                   = module.network.private_subnet_ids[0]
  availability_zone           = local.azs[0]
  ami                         = { id = var.ami_id }
  instance_type               = var.sizes.warehouse_instance_type
  data_volume                 = { size_gib = var.sizes.warehouse_data_gib }
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
  name         = local.name
  package_path = local.etl_package.path
  package_hash = local.etl_package.hash
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
  lambda             = { memory_size = var.sizes.etl_memory_mb, reserved_concurrency = var.lambda_reserved_concurrency.etl }
  log_retention_days = var.retention.log_days
  alarm_actions      = local.alarm_actions
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
  source                      = "../../modules/oltp"
  name                        = local.name
  vpc_id                      = module.network.vpc_id
  subnet_id                   = module.network.data_subnet_ids[0]
  availability_zone           = local.azs[0]
  ami                         = { id = var.ami_id }
  instance_type               = var.sizes.oltp_instance_type
  data_volume                 = { size_gib = var.sizes.oltp_data_gib }
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

module "frontend" {
  source                      = "../../modules/frontend"
  name                        = local.name
  repository                  = var.frontend.repository
  access_token_parameter_name = var.frontend.access_token_parameter_name
  branch                      = { name = var.frontend.branch }
  ingest_url                  = module.ingest.api_endpoint
  app_id                      = var.allowed_app_ids[0]
  email                       = var.frontend.email
  cognito = {
    callback_urls       = var.frontend.callback_urls
    logout_urls         = var.frontend.logout_urls
    domain_prefix       = var.frontend.domain_prefix
    threat_protection   = var.frontend.threat_protection
    user_pool_tier      = var.frontend.user_pool_tier
    deletion_protection = var.deletion_protection
  }
}

# -- alarms ---------------------------------------------------------------------------------------

resource "aws_kms_key" "alarms" {
  count                   = var.alarms.enabled ? 1 : 0
  description             = "${local.name} alarm topic"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.alarms_key[0].json
}

data "aws_iam_policy_document" "alarms_key" {
  count = var.alarms.enabled ? 1 : 0
  #checkov:skip=CKV_AWS_109,CKV_AWS_111,CKV_AWS_356:Key policy, where Resource "*" can only mean this key. The account root (i.e. IAM) administers the key with listed admin actions and no cryptographic use, so it cannot be locked out; only the CloudWatch service principal may use it, and only for alarms of this account (aws:SourceAccount), to publish to the encrypted alarm topic.
  statement {
    sid = "AccountAdministersTheKeyThroughIam"
    actions = [
      "kms:CancelKeyDeletion",
      "kms:CreateAlias",
      "kms:DeleteAlias",
      "kms:DescribeKey",
      "kms:DisableKey",
      "kms:DisableKeyRotation",
      "kms:EnableKey",
      "kms:EnableKeyRotation",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListGrants",
      "kms:ListKeyPolicies",
      "kms:ListKeyRotations",
      "kms:ListResourceTags",
      "kms:PutKeyPolicy",
      "kms:RevokeGrant",
      "kms:RotateKeyOnDemand",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:UpdateAlias",
      "kms:UpdateKeyDescription",
    ]
    resources = ["*"] # in a key policy "*" means this key
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid       = "CloudWatchAlarmsOfThisAccountPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sns_topic" "alarms" {
  count             = var.alarms.enabled ? 1 : 0
  name              = "${local.name}-alarms"
  kms_master_key_id = aws_kms_key.alarms[0].arn
}

resource "aws_sns_topic_subscription" "email" {
  count     = var.alarms.enabled && var.alarms.email != null ? 1 : 0
  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = var.alarms.email
}

resource "aws_cloudwatch_metric_alarm" "host_status" {
  for_each            = var.alarms.enabled ? { warehouse = module.warehouse.instance_id, oltp = module.oltp.instance_id } : {}
  alarm_name          = "${local.name}-${each.key}-status-check"
  alarm_description   = "The ${each.key} host failed its EC2 status checks (instance or system)."
  namespace           = "AWS/EC2"
  metric_name         = "StatusCheckFailed"
  dimensions          = { InstanceId = each.value }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
