data "aws_region" "current" {}
data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

data "aws_ssm_parameter" "ami" {
  count = var.ami.id == null ? 1 : 0
  name  = var.ami.ssm_parameter_name
}

locals {
  region         = data.aws_region.current.name
  partition      = data.aws_partition.current.partition
  account_root   = "arn:${local.partition}:iam::${data.aws_caller_identity.current.account_id}:root"
  create_kms_key = var.kms_key_arn == null
  kms_key_arn    = local.create_kms_key ? module.key[0].key_arn : var.kms_key_arn
  ami_id         = var.ami.id != null ? var.ami.id : nonsensitive(data.aws_ssm_parameter.ami[0].value)

  # How each role is named: `short` in resource names and parameter paths, the rest in
  # descriptions (the security group's is kept as it was: a new description replaces the group).
  naming = {
    warehouse = { short = "dw", label = "warehouse", host = "Warehouse host", clients = "the ETL" }
    oltp      = { short = "oltp", label = "OLTP database", host = "OLTP host", clients = "the app tier" }
  }[var.role]
  short       = local.naming.short
  label       = local.naming.label
  prefix      = "${var.name}-${local.short}"
  data_device = "/dev/sdf"

  password_param = "/${var.name}/${local.short}/${var.database.admin_user}/password"
  status_param   = "/${var.name}/${local.short}/bootstrap-status"
  ca_param       = "/${var.name}/${local.short}/tls-ca"

  # /etc/clickstream/host.env: every key of the table in docs/hosts.md. Every value is written
  # between single quotes for the shell: the inputs are validated so none can hold a quote, a
  # backslash or a newline, and the instance's precondition checks the result once more.
  host_env = {
    ROLE               = var.role
    NAME               = var.name
    REGION             = local.region
    BUCKET             = var.bundle.bucket_name
    BUNDLE_KEY         = var.bundle.key
    BUNDLE_SHA256      = var.bundle.sha256
    BACKUP_PREFIX      = var.bundle.backup_prefix
    BACKUP_ENABLED     = tostring(var.backup.enabled)
    BACKUP_ON_CALENDAR = var.backup.on_calendar
    PASSWORD_PARAMETER = local.password_param
    STATUS_PARAMETER   = local.status_param
    CA_PARAMETER       = local.ca_param
    DATA_DEVICE        = local.data_device
    DB_NAME            = var.database.name
    ADMIN_USER         = var.database.admin_user
    DASHBOARD_USER     = var.dashboard == null ? "" : var.dashboard.user
    SHINY_PORT         = var.dashboard == null ? "" : tostring(var.dashboard.port)
    WORK_MEM_MB        = tostring(var.database.work_mem_mib)
    MAX_CONNECTIONS    = tostring(var.database.max_connections)
    CLIENT_CIDRS       = join(" ", var.client_cidrs)
  }

  user_data = templatefile("${path.module}/templates/cloud-init.yaml.tftpl", {
    role         = var.role
    name         = var.name
    host_env     = local.host_env
    fetch_bundle = file("${path.module}/files/clickstream-fetch-bundle")
  })
}

# -- encryption key for the volumes and the password parameter -----------------------------------

# Administered through IAM (the account root), used only through EC2 (EBS volumes) and SSM (the
# password parameter); EC2 may create grants for the volumes it attaches.
module "key" {
  source                  = "../internal/kms_key"
  count                   = local.create_kms_key ? 1 : 0
  alias                   = "${var.name}-${var.role}"
  description             = "${var.name} ${local.label}: EBS volumes and the ${var.database.admin_user} password parameter"
  deletion_window_in_days = 30
  key_administrators      = [local.account_root]
  key_users = [
    {
      sid        = "AccountPrincipalsUseTheKeyOnlyThroughServices"
      principals = [local.account_root]
      actions    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]
      conditions = [{ test = "StringEquals", variable = "kms:ViaService", values = ["ec2.${local.region}.amazonaws.com", "ssm.${local.region}.amazonaws.com"] }]
    },
    {
      sid        = "AccountPrincipalsLetEc2AttachTheVolumes"
      principals = [local.account_root]
      actions    = ["kms:CreateGrant"]
      conditions = [{ test = "Bool", variable = "kms:GrantIsForAWSResource", values = ["true"] }]
    },
  ]
  tags = merge(var.tags, { Name = "${var.name}-${var.role}" })
}

# -- the owner's password: generated ephemerally, written only to SSM ----------------------------

ephemeral "aws_secretsmanager_random_password" "admin" {
  password_length     = 32
  exclude_punctuation = true # it travels in DSNs and shell; 32 alphanumerics is ~190 bits
}

resource "aws_ssm_parameter" "password" {
  name             = local.password_param
  description      = "Password of the ${var.database.admin_user} role on the ${var.name} ${local.label} (generated, never in state)"
  type             = "SecureString"
  key_id           = local.kms_key_arn
  value_wo         = ephemeral.aws_secretsmanager_random_password.admin.random_password
  value_wo_version = var.password_version
  tags             = var.tags
}

# -- what the host publishes: its bootstrap status and its TLS CA certificate ---------------------
# Terraform creates them (so they are named, tagged, granted and destroyed with the stack) with
# a placeholder; the host owns the value from its first boot on, hence ignore_changes.

resource "aws_ssm_parameter" "status" {
  #checkov:skip=CKV2_AWS_34:Not a secret: a status line the bootstrap writes ("ready <bundle sha256>" or "failed <step>: <message>"), read by operators and alarms. A String needs no KMS grant for them, and the host writes it with ssm:PutParameter on this one ARN.
  #checkov:skip=CKV_AWS_337:A String parameter has no KMS key at all (only SecureStrings do); this one holds a status line, not a secret (see CKV2_AWS_34 above).
  name           = local.status_param
  description    = "Bootstrap status of the ${var.name} ${local.label} host, written by the host (docs/hosts.md)"
  type           = "String"
  insecure_value = "pending"
  tags           = var.tags

  lifecycle {
    ignore_changes = [insecure_value]
  }
}

resource "aws_ssm_parameter" "ca" {
  #checkov:skip=CKV2_AWS_34:Not a secret: the PEM certificate of the host's own CA, public by nature; clients (the ETL) read it to verify the server (sslmode verify-full) and need no KMS grant for it. The private key never leaves the host.
  #checkov:skip=CKV_AWS_337:A String parameter has no KMS key at all (only SecureStrings do); this one holds a public CA certificate, not a secret (see CKV2_AWS_34 above).
  name           = local.ca_param
  description    = "TLS CA certificate of the ${var.name} ${local.label} host (PEM), published by the host for verify-full clients"
  type           = "String"
  tier           = "Standard" # a PEM certificate fits in 4 KB
  insecure_value = "pending"
  tags           = var.tags

  lifecycle {
    ignore_changes = [insecure_value]
  }
}

# -- instance role: Session Manager, its bundle, its password, its backups, what it publishes -----

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name_prefix        = "${local.prefix}-"
  description        = "${local.naming.host} of ${var.name}: SSM agent, its bundle, its password, its backups and its status"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "ssm_core" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

data "aws_iam_policy_document" "host" {
  statement {
    sid       = "ReadOwnBundle"
    actions   = ["s3:GetObject"]
    resources = ["${var.bundle.bucket_arn}/${var.bundle.key}"]
  }

  statement {
    sid       = "WriteBackups"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${var.bundle.bucket_arn}/${var.bundle.backup_prefix}*"]
  }

  statement {
    sid       = "ArtifactsKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.bundle.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "ReadPassword"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.password.arn]
  }

  statement {
    sid       = "PublishStatusAndCa"
    actions   = ["ssm:PutParameter"]
    resources = [aws_ssm_parameter.status.arn, aws_ssm_parameter.ca.arn]
  }

  statement {
    sid       = "DecryptPassword"
    actions   = ["kms:Decrypt"]
    resources = [local.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "host" {
  name   = "${var.role}-host"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.host.json
}

resource "aws_iam_instance_profile" "this" {
  name_prefix = "${local.prefix}-"
  role        = aws_iam_role.this.name
  tags        = var.tags
}

# -- security group: 5432 from the listed clients only; out to S3 and the SSM endpoints only ------

resource "aws_security_group" "this" {
  name_prefix = "${local.prefix}-"
  description = "${local.naming.host} of ${var.name}: PostgreSQL from ${local.naming.clients} only, HTTPS out to S3 and endpoints"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = local.prefix })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  for_each                     = var.client_security_groups
  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = each.value
  tags                         = merge(var.tags, { Name = "${local.prefix}-postgres-${each.key}" })
}

resource "aws_vpc_security_group_egress_rule" "s3" {
  security_group_id = aws_security_group.this.id
  description       = "HTTPS to S3 through the Gateway endpoint (bundle, backups, AL2023 repositories)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = var.s3_prefix_list_id
  tags              = merge(var.tags, { Name = "${local.prefix}-s3" })
}

resource "aws_vpc_security_group_egress_rule" "endpoints" {
  security_group_id            = aws_security_group.this.id
  description                  = "HTTPS to the interface endpoints (Session Manager, SSM parameters)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = var.endpoints_security_group_id
  tags                         = merge(var.tags, { Name = "${local.prefix}-endpoints" })
}

# -- the host -------------------------------------------------------------------------------------

resource "aws_instance" "this" {
  ami                         = local.ami_id
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_id
  availability_zone           = var.availability_zone
  vpc_security_group_ids      = [aws_security_group.this.id]
  iam_instance_profile        = aws_iam_instance_profile.this.name
  associate_public_ip_address = false
  monitoring                  = var.detailed_monitoring
  ebs_optimized               = true
  user_data                   = local.user_data
  # A new bundle (its key and hash are in host.env) boots a fresh host; the data volume survives.
  user_data_replace_on_change = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_size_gib
    encrypted             = true
    kms_key_id            = local.kms_key_arn
    delete_on_termination = true
    tags                  = merge(var.tags, { Name = "${local.prefix}-root" })
  }

  tags = merge(var.tags, { Name = local.prefix, Role = var.role })

  lifecycle {
    precondition {
      condition     = alltrue([for v in values(local.host_env) : !can(regex("['\\\\\\n\\r]", v))])
      error_message = "A host.env value holds a quote, backslash or line break, which would break its single-quoted KEY='value' line: ${jsonencode([for k, v in local.host_env : k if can(regex("['\\\\\\n\\r]", v))])}."
    }
  }

  # The role must be able to read the bundle and the password, and the parameters it writes must
  # exist (Terraform creates them), before the host boots and runs the bootstrap.
  depends_on = [
    aws_iam_role_policy.host,
    aws_iam_role_policy_attachment.ssm_core,
    aws_ssm_parameter.status,
    aws_ssm_parameter.ca,
  ]
}

resource "aws_ebs_volume" "data" {
  availability_zone = var.availability_zone
  type              = "gp3"
  size              = var.data_volume.size_gib
  iops              = var.data_volume.iops
  throughput        = var.data_volume.throughput
  encrypted         = true
  kms_key_id        = local.kms_key_arn
  tags              = merge(var.tags, { Name = "${local.prefix}-data", Role = "${var.role}-data" })
}

resource "aws_volume_attachment" "data" {
  device_name                    = local.data_device
  volume_id                      = aws_ebs_volume.data.id
  instance_id                    = aws_instance.this.id
  stop_instance_before_detaching = true # clean PostgreSQL shutdown before the disk goes away
}
