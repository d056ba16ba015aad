data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  azs = var.availability_zones
  # Each tier owns one quarter of the VPC so its subnets share a supernet (rules can name the
  # whole tier with one CIDR) and adding an AZ never renumbers an existing subnet.
  per_quarter = pow(2, var.subnets.newbits - 2)
  computed = {
    for tier, quarter in { public = 0, private = 1, data = 2 } :
    tier => [for i, _ in local.azs : cidrsubnet(var.vpc_cidr, var.subnets.newbits, quarter * local.per_quarter + i)]
  }
  cidrs = {
    public  = length(var.subnets.public_cidrs) > 0 ? var.subnets.public_cidrs : local.computed.public
    private = length(var.subnets.private_cidrs) > 0 ? var.subnets.private_cidrs : local.computed.private
    data    = length(var.subnets.data_cidrs) > 0 ? var.subnets.data_cidrs : local.computed.data
  }
  public_subnets  = var.subnets.public_tier ? { for i, az in local.azs : az => local.cidrs.public[i] } : {}
  private_subnets = { for i, az in local.azs : az => local.cidrs.private[i] }
  data_subnets    = var.subnets.data_tier ? { for i, az in local.azs : az => local.cidrs.data[i] } : {}

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  flow_log_group_name = "/vpc/${var.name}/flow-logs"
  flow_log_group_arn  = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.flow_log_group_name}"
  create_kms_key      = var.flow_logs.enabled && var.flow_logs.kms_key_arn == null
}

# -- VPC ---------------------------------------------------------------------------------------

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true # interface endpoints with private DNS need both
  enable_dns_hostnames = true
  tags                 = merge(var.tags, { Name = var.name })
}

# The default security group is left with no rules at all, so anything launched without an
# explicit group can neither send nor receive.
resource "aws_default_security_group" "this" {
  vpc_id  = aws_vpc.this.id
  ingress = []
  egress  = []
  tags    = merge(var.tags, { Name = "${var.name}-default-closed" })
}

# The default NACL keeps no rules (deny all). Every subnet of this module is associated with
# its tier's NACL below, so only a subnet created outside the module would land here, closed.
resource "aws_default_network_acl" "this" {
  default_network_acl_id = aws_vpc.this.default_network_acl_id
  tags                   = merge(var.tags, { Name = "${var.name}-default-deny" })

  lifecycle {
    # Subnet associations are owned by the tier NACLs.
    ignore_changes = [subnet_ids]
  }
}

# -- public tier (internet gateway only here) ---------------------------------------------------

resource "aws_internet_gateway" "this" {
  count  = var.subnets.public_tier ? 1 : 0
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${var.name}-igw" })
}

resource "aws_subnet" "public" {
  for_each                = local.public_subnets
  vpc_id                  = aws_vpc.this.id
  availability_zone       = each.key
  cidr_block              = each.value
  map_public_ip_on_launch = false # public addresses are assigned explicitly, never by default
  tags                    = merge(var.tags, { Name = "${var.name}-public-${each.key}", Tier = "public" })
}

resource "aws_route_table" "public" {
  count  = var.subnets.public_tier ? 1 : 0
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${var.name}-public", Tier = "public" })
}

resource "aws_route" "public_internet" {
  count                  = var.subnets.public_tier ? 1 : 0
  route_table_id         = aws_route_table.public[0].id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this[0].id
}

resource "aws_route_table_association" "public" {
  for_each       = aws_subnet.public
  subnet_id      = each.value.id
  route_table_id = aws_route_table.public[0].id
}

# -- private (analytics) tier: no route out of the VPC ------------------------------------------

resource "aws_subnet" "private" {
  for_each                = local.private_subnets
  vpc_id                  = aws_vpc.this.id
  availability_zone       = each.key
  cidr_block              = each.value
  map_public_ip_on_launch = false
  tags                    = merge(var.tags, { Name = "${var.name}-private-${each.key}", Tier = "private" })
}

# One route table per subnet: gateway endpoints add their prefix-list routes here, and a
# per-AZ table keeps a later per-AZ change (e.g. a firewall) from touching the other AZs.
resource "aws_route_table" "private" {
  for_each = local.private_subnets
  vpc_id   = aws_vpc.this.id
  tags     = merge(var.tags, { Name = "${var.name}-private-${each.key}", Tier = "private" })
}

resource "aws_route_table_association" "private" {
  for_each       = aws_subnet.private
  subnet_id      = each.value.id
  route_table_id = aws_route_table.private[each.key].id
}

# -- data (OLTP) tier: optional, same isolation, its own subnets and tables ---------------------

resource "aws_subnet" "data" {
  for_each                = local.data_subnets
  vpc_id                  = aws_vpc.this.id
  availability_zone       = each.key
  cidr_block              = each.value
  map_public_ip_on_launch = false
  tags                    = merge(var.tags, { Name = "${var.name}-data-${each.key}", Tier = "data" })
}

resource "aws_route_table" "data" {
  for_each = local.data_subnets
  vpc_id   = aws_vpc.this.id
  tags     = merge(var.tags, { Name = "${var.name}-data-${each.key}", Tier = "data" })
}

resource "aws_route_table_association" "data" {
  for_each       = aws_subnet.data
  subnet_id      = each.value.id
  route_table_id = aws_route_table.data[each.key].id
}

# -- network ACLs (coarse, stateless; security groups do the fine-grained work) -----------------

resource "aws_network_acl" "public" {
  #checkov:skip=CKV_AWS_231:NACLs are stateless; 1024-65535 from 0.0.0.0/0 admits return traffic of connections opened from inside only. No security group in the VPC opens 3389, which is where access is actually enforced.
  count      = var.subnets.public_tier ? 1 : 0
  vpc_id     = aws_vpc.this.id
  subnet_ids = [for s in aws_subnet.public : s.id]
  tags       = merge(var.tags, { Name = "${var.name}-public", Tier = "public" })

  ingress {
    rule_no    = 100
    action     = "allow"
    protocol   = "-1"
    cidr_block = var.vpc_cidr
    from_port  = 0
    to_port    = 0
  }
  ingress {
    rule_no    = 110
    action     = "allow"
    protocol   = "tcp"
    cidr_block = "0.0.0.0/0"
    from_port  = 443
    to_port    = 443
  }
  ingress {
    # Return traffic of connections opened from inside (NACLs are stateless).
    rule_no    = 120
    action     = "allow"
    protocol   = "tcp"
    cidr_block = "0.0.0.0/0"
    from_port  = 1024
    to_port    = 65535
  }
  egress {
    rule_no    = 100
    action     = "allow"
    protocol   = "-1"
    cidr_block = "0.0.0.0/0"
    from_port  = 0
    to_port    = 0
  }
}

resource "aws_network_acl" "private" {
  #checkov:skip=CKV_AWS_231:NACLs are stateless; 1024-65535 from 0.0.0.0/0 admits return traffic (S3 answers through the Gateway endpoint from public addresses). No security group in the VPC opens 3389.
  #checkov:skip=CKV2_AWS_1:subnet_ids are this tier's subnets (for_each over aws_subnet.private/data); checkov's plan graph cannot follow the for_each map, the plan tests assert the association.
  for_each   = merge({ private = aws_subnet.private }, var.subnets.data_tier ? { data = aws_subnet.data } : {})
  vpc_id     = aws_vpc.this.id
  subnet_ids = [for s in each.value : s.id]
  tags       = merge(var.tags, { Name = "${var.name}-${each.key}", Tier = each.key })

  ingress {
    rule_no    = 100
    action     = "allow"
    protocol   = "-1"
    cidr_block = var.vpc_cidr
    from_port  = 0
    to_port    = 0
  }
  ingress {
    # Replies from S3 through the Gateway endpoint come from S3's public address ranges.
    rule_no    = 110
    action     = "allow"
    protocol   = "tcp"
    cidr_block = "0.0.0.0/0"
    from_port  = 1024
    to_port    = 65535
  }
  egress {
    # Only the VPC and the endpoint prefix lists are routable from these tiers anyway.
    rule_no    = 100
    action     = "allow"
    protocol   = "-1"
    cidr_block = "0.0.0.0/0"
    from_port  = 0
    to_port    = 0
  }
}
