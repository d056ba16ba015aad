# Alarm notifications, when enabled: an SNS topic encrypted with a key of its own, an
# optional e-mail subscription, and a status-check alarm per host. The ETL's alarms (errors,
# failed runs) notify the same topic (etl.tf, alarm_actions).

# One key policy for every env (dev once granted kms:* here while prod listed its actions):
# the account (that is, IAM) administers the key with the listed admin actions and no
# cryptographic use; only CloudWatch may use it, and only for alarms of this account.
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
      identifiers = ["arn:aws:iam::${local.account_id}:root"]
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
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "alarms" {
  count                   = var.alarms.enabled ? 1 : 0
  description             = "${var.name} alarm topic"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.alarms_key[0].json
}

resource "aws_sns_topic" "alarms" {
  count             = var.alarms.enabled ? 1 : 0
  name              = "${var.name}-alarms"
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
  alarm_name          = "${var.name}-${each.key}-status-check"
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
