locals {
  partition = startswith(var.region, "us-gov-") ? "aws-us-gov" : (startswith(var.region, "cn-") ? "aws-cn" : "aws")

  # Session Manager needs all three; they are not optional for a host with no internet.
  ssm_endpoints       = ["ssm", "ssmmessages", "ec2messages"]
  interface_endpoints = toset(concat(local.ssm_endpoints, sort(tolist(var.interface_endpoints))))

  # dnf on Amazon Linux 2023 fetches mirror lists and packages from this AWS-owned bucket
  # (one per region; the suffix is the same in every region).
  al2023_repo_bucket = "al2023-repos-${var.region}-de612dc2"

  # AWS-owned buckets SSM Agent reads through the S3 endpoint (AWS Systems Manager user guide,
  # "SSM Agent communications with AWS managed S3 buckets"): agent updates and its SSM
  # documents' modules, Distributor packages, document attachments and the patch baseline
  # snapshots of Patch Manager. aws-windows-downloads-<region> is left out: Windows only.
  ssm_agent_buckets = [
    "aws-ssm-${var.region}",
    "amazon-ssm-${var.region}",
    "amazon-ssm-packages-${var.region}",
    "${var.region}-birdwatcher-prod",
    "aws-ssm-distributor-file-${var.region}",
    "aws-ssm-document-attachments-${var.region}",
    "patch-baseline-snapshot-${var.region}",
  ]

  s3_statements = concat(
    [{
      Sid       = "PlatformBucketsOnly"
      Effect    = "Allow"
      Principal = "*"
      Action    = var.bucket_actions
      Resource  = flatten([for arn in var.bucket_arns : [arn, "${arn}/*"]])
    }],
    var.allow_al2023_repositories ? [{
      Sid       = "AmazonLinux2023Repositories"
      Effect    = "Allow"
      Principal = "*"
      Action    = ["s3:GetObject"]
      Resource  = ["arn:${local.partition}:s3:::${local.al2023_repo_bucket}/*"]
    }] : [],
    var.allow_ssm_agent_buckets ? [{
      Sid       = "SsmAgentBuckets"
      Effect    = "Allow"
      Principal = "*"
      Action    = ["s3:GetObject"] # read-only: the agent only downloads from these
      Resource  = [for b in local.ssm_agent_buckets : "arn:${local.partition}:s3:::${b}/*"]
    }] : [],
  )
  s3_policy = jsonencode({ Version = "2012-10-17", Statement = local.s3_statements })
}

# -- S3: a Gateway endpoint (free) on every private route table ----------------------------------

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = var.vpc_id
  service_name      = "com.amazonaws.${var.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = var.route_table_ids
  policy            = local.s3_policy
  tags              = merge(var.tags, { Name = "${var.name}-s3" })
}

# -- interface endpoints (Session Manager and optional extras) -----------------------------------

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-endpoints-"
  description = "Interface endpoints of ${var.name}: HTTPS from inside the VPC only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-endpoints" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "https_from_vpc" {
  security_group_id = aws_security_group.this.id
  description       = "HTTPS from the VPC to the endpoint network interfaces"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.vpc_cidr
  tags              = merge(var.tags, { Name = "${var.name}-endpoints-https" })
}

# No egress rule: endpoint interfaces only answer (security groups are stateful) and never
# open connections, so the group allows no outbound traffic at all.

resource "aws_vpc_endpoint" "interface" {
  for_each            = local.interface_endpoints
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.${var.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true # the SDKs and the SSM agent keep their default host names
  subnet_ids          = var.subnet_ids
  security_group_ids  = [aws_security_group.this.id]
  tags                = merge(var.tags, { Name = "${var.name}-${each.key}" })
}
