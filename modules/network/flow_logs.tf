# VPC flow logs to CloudWatch Logs, encrypted with a customer-managed key, kept for a bounded
# time, written by a role that can touch only this log group.

# Administered through IAM (the account root), no cryptographic use for IAM principals: CloudWatch
# Logs decrypts for the readers it authorises. Only CloudWatch Logs may use the key, and only for
# this VPC's flow log group.
module "flow_logs_key" {
  source             = "../internal/kms_key"
  count              = local.create_kms_key ? 1 : 0
  alias              = "${var.name}-flow-logs"
  description        = "Encrypts the VPC flow logs of ${var.name}"
  key_administrators = ["arn:${local.partition}:iam::${local.account_id}:root"]
  key_service_principals = [{
    sid        = "CloudWatchLogsUsesKeyForThisGroupOnly"
    services   = ["logs.${local.region}.amazonaws.com"]
    actions    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]
    conditions = [{ test = "ArnEquals", variable = "kms:EncryptionContext:aws:logs:arn", values = [local.flow_log_group_arn] }]
  }]
  tags = merge(var.tags, { Name = "${var.name}-flow-logs" })
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  count             = var.flow_logs.enabled ? 1 : 0
  name              = local.flow_log_group_name
  retention_in_days = var.flow_logs.retention_in_days
  kms_key_id        = local.create_kms_key ? module.flow_logs_key[0].key_arn : var.flow_logs.kms_key_arn
  tags              = merge(var.tags, { Name = "${var.name}-flow-logs" })
}

resource "aws_iam_role" "flow_logs" {
  count       = var.flow_logs.enabled ? 1 : 0
  name_prefix = substr("${var.name}-flow-logs-", 0, 38)
  description = "Lets VPC Flow Logs of ${var.name} write to its own log group"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "VpcFlowLogsOfThisAccount"
      Effect    = "Allow"
      Principal = { Service = "vpc-flow-logs.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
        ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:ec2:${local.region}:${local.account_id}:vpc-flow-log/*" }
      }
    }]
  })
  tags = merge(var.tags, { Name = "${var.name}-flow-logs" })
}

resource "aws_iam_role_policy" "flow_logs" {
  count = var.flow_logs.enabled ? 1 : 0
  name  = "write-flow-logs"
  role  = aws_iam_role.flow_logs[0].id
  # The group's ARN is built from its name (local.flow_log_group_arn, the ARN the group gets),
  # so the rendered policy is known at plan time and the plan test reads it statement by
  # statement.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "WriteThisGroupOnly"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
        Resource = [local.flow_log_group_arn, "${local.flow_log_group_arn}:*"]
      },
      {
        # VPC Flow Logs calls DescribeLogGroups to find its destination group. The action has
        # no resource-level permissions (the Service Authorization Reference lists no resource
        # type for it), so "*" is the narrowest resource it accepts; it is a List action that
        # reveals log group names and settings, never their events, and this statement grants
        # nothing else.
        Sid      = "FindTheLogGroup"
        Effect   = "Allow"
        Action   = ["logs:DescribeLogGroups"]
        Resource = "*"
      },
    ]
  })
  depends_on = [aws_cloudwatch_log_group.flow_logs]
}

resource "aws_flow_log" "this" {
  count                    = var.flow_logs.enabled ? 1 : 0
  vpc_id                   = aws_vpc.this.id
  traffic_type             = var.flow_logs.traffic_type
  log_destination_type     = "cloud-watch-logs"
  log_destination          = aws_cloudwatch_log_group.flow_logs[0].arn
  iam_role_arn             = aws_iam_role.flow_logs[0].arn
  max_aggregation_interval = var.flow_logs.max_aggregation_interval
  tags                     = merge(var.tags, { Name = "${var.name}-flow-logs" })
}
