# The data warehouse: a PostgreSQL host (modules/postgres_host) in the analytics subnets, with
# the Shiny dashboards on 127.0.0.1. What is the warehouse's own lives here: its role, its
# defaults (database names, dw/ prefixes, sizes), the dashboards and their port forwarding.

data "aws_region" "current" {} # for the port-forwarding command

module "host" {
  source = "../postgres_host"

  role = "warehouse"
  name = var.name
  tags = var.tags

  # where it runs and who may connect: the ETL only
  vpc_id                      = var.vpc_id
  subnet_id                   = var.subnet_id
  availability_zone           = var.availability_zone
  client_security_groups      = var.client_security_groups
  client_cidrs                = var.client_cidrs
  s3_prefix_list_id           = var.s3_prefix_list_id
  endpoints_security_group_id = var.endpoints_security_group_id

  # the machine
  ami                  = var.ami
  instance_type        = var.instance_type
  detailed_monitoring  = var.detailed_monitoring
  root_volume_size_gib = var.root_volume_size_gib
  data_volume          = merge({ size_gib = 100 }, var.data_volume)
  kms_key_arn          = var.kms_key_arn

  # what it boots and serves
  bundle = merge({ backup_prefix = "backups/dw/" }, var.bundle)
  database = {
    name            = var.database.name
    admin_user      = var.database.admin_user
    work_mem_mib    = var.database.work_mem_mib
    max_connections = var.database.max_connections
  }
  dashboard        = { user = var.database.dashboard_user, port = var.shiny.port }
  backup           = var.backup
  password_version = var.password_version
}
