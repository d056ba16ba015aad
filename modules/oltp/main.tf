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
  create_kms_key = var.kms_key_arn == null
  kms_key_arn    = local.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn
  ami_id         = var.ami.id != null ? var.ami.id : nonsensitive(data.aws_ssm_parameter.ami[0].value)
  password_param = "/${var.name}/oltp/${var.database.admin_user}/password"
  data_device    = "/dev/sdf"

  user_data = templatefile("${path.module}/templates/cloud-init.yaml.tftpl", {
    name               = var.name
    region             = local.region
    bucket             = var.artifacts.bucket_name
    prefix             = var.artifacts.prefix
    backup_prefix      = var.artifacts.backup_prefix
    backup_enabled     = var.backup.enabled
    backup_on_calendar = var.backup.on_calendar
    revision           = var.artifacts.revision
    password_parameter = local.password_param
    data_device        = local.data_device
    db_name            = var.database.name
    admin_user         = var.database.admin_user
    work_mem_mib       = var.database.work_mem_mib
    max_connections    = var.database.max_connections
    client_cidrs       = var.client_cidrs
    python             = var.database.python
  })
}

# -- encryption key for the volumes and the password parameter -----------------------------------

resource "aws_kms_key" "this" {
  count                   = local.create_kms_key ? 1 : 0
  description             = "${var.name} OLTP database: EBS volumes and the shop password parameter"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms[0].json
  tags                    = merge(var.tags, { Name = "${var.name}-oltp" })
}

data "aws_iam_policy_document" "kms" {
  count = local.create_kms_key ? 1 : 0
  #checkov:skip=CKV_AWS_109,CKV_AWS_111,CKV_AWS_356:Key policy, where Resource "*" can only mean this key. The account root (i.e. IAM) administers the key with listed admin actions and no cryptographic use, so it cannot be locked out; use is allowed only through EC2 (EBS volumes) and SSM (the password parameter) (kms:ViaService), and IAM policies still decide which principals.
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
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid       = "AccountPrincipalsUseTheKeyOnlyThroughServices"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ec2.${local.region}.amazonaws.com", "ssm.${local.region}.amazonaws.com"]
    }
  }
  statement {
    sid       = "AccountPrincipalsLetEc2AttachTheVolumes"
    actions   = ["kms:CreateGrant"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }
}

resource "aws_kms_alias" "this" {
  count         = local.create_kms_key ? 1 : 0
  name          = "alias/${var.name}-oltp"
  target_key_id = aws_kms_key.this[0].key_id
}

# -- the admin password: generated ephemerally, written only to SSM -------------------------------

ephemeral "aws_secretsmanager_random_password" "admin" {
  password_length     = 32
  exclude_punctuation = true # it travels in DSNs and shell; 32 alphanumerics is ~190 bits
}

resource "aws_ssm_parameter" "password" {
  name             = local.password_param
  description      = "Password of the ${var.database.admin_user} role on the ${var.name} OLTP database (generated, never in state)"
  type             = "SecureString"
  key_id           = local.kms_key_arn
  value_wo         = ephemeral.aws_secretsmanager_random_password.admin.random_password
  value_wo_version = var.password_version
  tags             = var.tags
}

# -- instance role: Session Manager, its artifacts, its password, its backups --------------------

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
  name_prefix        = "${var.name}-oltp-"
  description        = "OLTP host of ${var.name}: SSM agent, its artifacts, its password and backups"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "ssm_core" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

data "aws_iam_policy_document" "host" {
  statement {
    sid       = "ReadOwnArtifacts"
    actions   = ["s3:GetObject"]
    resources = ["${var.artifacts.bucket_arn}/${var.artifacts.prefix}*"]
  }

  statement {
    sid       = "ListOwnArtifacts"
    actions   = ["s3:ListBucket"]
    resources = [var.artifacts.bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [var.artifacts.prefix, "${var.artifacts.prefix}*"]
    }
  }

  statement {
    sid       = "WriteBackups"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${var.artifacts.bucket_arn}/${var.artifacts.backup_prefix}*"]
  }

  statement {
    sid       = "ArtifactsKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.artifacts.kms_key_arn]
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
  name   = "oltp-host"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.host.json
}

resource "aws_iam_instance_profile" "this" {
  name_prefix = "${var.name}-oltp-"
  role        = aws_iam_role.this.name
  tags        = var.tags
}

# -- security group: 5432 from the app tier only (none from analytics); out to S3 and the SSM endpoints only --------------

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-oltp-"
  description = "OLTP host of ${var.name}: PostgreSQL from the app tier only, HTTPS out to S3 and endpoints"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-oltp" })

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
  tags                         = merge(var.tags, { Name = "${var.name}-oltp-postgres-${each.key}" })
}

resource "aws_vpc_security_group_egress_rule" "s3" {
  security_group_id = aws_security_group.this.id
  description       = "HTTPS to S3 through the Gateway endpoint (migrations, backups, AL2023 repositories)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = var.s3_prefix_list_id
  tags              = merge(var.tags, { Name = "${var.name}-oltp-s3" })
}

resource "aws_vpc_security_group_egress_rule" "endpoints" {
  security_group_id            = aws_security_group.this.id
  description                  = "HTTPS to the interface endpoints (Session Manager, SSM parameters)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = var.endpoints_security_group_id
  tags                         = merge(var.tags, { Name = "${var.name}-oltp-endpoints" })
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
  # A changed template or artifacts revision boots a fresh host; the data volume survives.
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
    tags                  = merge(var.tags, { Name = "${var.name}-oltp-root" })
  }

  tags = merge(var.tags, { Name = "${var.name}-oltp", Role = "oltp" })

  depends_on = [aws_iam_role_policy.host, aws_iam_role_policy_attachment.ssm_core]
}

resource "aws_ebs_volume" "data" {
  availability_zone = var.availability_zone
  type              = "gp3"
  size              = var.data_volume.size_gib
  iops              = var.data_volume.iops
  throughput        = var.data_volume.throughput
  encrypted         = true
  kms_key_id        = local.kms_key_arn
  tags              = merge(var.tags, { Name = "${var.name}-oltp-data", Role = "oltp-data" })
}

resource "aws_volume_attachment" "data" {
  device_name                    = local.data_device
  volume_id                      = aws_ebs_volume.data.id
  instance_id                    = aws_instance.this.id
  stop_instance_before_detaching = true # clean PostgreSQL shutdown before the disk goes away
}
