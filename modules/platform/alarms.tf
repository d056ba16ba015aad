# Alarm notifications, when enabled: an SNS topic encrypted with a key of its own, an
# optional e-mail subscription, and a status-check alarm per host. The ETL's alarms (errors,
# failed runs) notify the same topic (etl.tf, alarm_actions).

# One key policy for every env (dev once granted kms:* here while prod listed its actions),
# built by modules/internal/kms_key: the account (that is, IAM) administers the key with the
# listed admin actions and no cryptographic use; only CloudWatch may use it, and only for
# alarms of this account.
module "alarms_key" {
  source                  = "../internal/kms_key"
  count                   = var.alarms.enabled ? 1 : 0
  alias                   = "${var.name}-alarms"
  description             = "${var.name} alarm topic"
  deletion_window_in_days = 30
  key_administrators      = ["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"]
  key_service_principals = [{
    sid        = "CloudWatchAlarmsOfThisAccountPublish"
    services   = ["cloudwatch.amazonaws.com"]
    conditions = [{ test = "StringEquals", variable = "aws:SourceAccount", values = [local.account_id] }]
  }]
}

resource "aws_sns_topic" "alarms" {
  count             = var.alarms.enabled ? 1 : 0
  name              = "${var.name}-alarms"
  kms_master_key_id = module.alarms_key[0].key_arn
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
