# The shop's order database: a PostgreSQL host (modules/postgres_host) in the network's data
# tier, with no dashboards and, until the shop's application tier exists, no client at all.

module "host" {
  source = "../postgres_host"

  role             = "oltp"
  name             = var.name
  vpc_id           = var.vpc_id
  subnet_id        = var.subnet_id
  instance_type    = var.instance_type
  ami              = var.ami
  bundle           = merge({ backup_prefix = "backups/oltp/" }, var.bundle)
  database         = var.database
  backup           = var.backup
  password_version = var.password_version
  tags             = var.tags

  # The data volume must be in the instance's zone; both follow the data-tier subnet.
  availability_zone    = var.availability_zone
  data_volume          = merge({ size_gib = 50 }, var.data_volume)
  root_volume_size_gib = var.root_volume_size_gib
  kms_key_arn          = var.kms_key_arn
  detailed_monitoring  = var.detailed_monitoring

  # Inbound only from the application tier's groups (none by default), outbound only 443 to
  # S3 and the SSM endpoints.
  client_security_groups      = var.client_security_groups
  client_cidrs                = var.client_cidrs
  s3_prefix_list_id           = var.s3_prefix_list_id
  endpoints_security_group_id = var.endpoints_security_group_id
}
