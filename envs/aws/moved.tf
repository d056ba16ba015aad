# State written before modules/platform held the composition: every module call moves under
# module.platform (an applied env keeps its resources), the front end becomes optional
# (module.platform.module.frontend[0]), and the ETL's grant on the warehouse password's key
# moved into the ETL module (it used to split the role ARN here).

moved {
  from = module.network
  to   = module.platform.module.network
}

moved {
  from = module.endpoints
  to   = module.platform.module.endpoints
}

moved {
  from = module.ingest
  to   = module.platform.module.ingest
}

moved {
  from = module.artifacts
  to   = module.platform.module.artifacts
}

moved {
  from = module.warehouse
  to   = module.platform.module.warehouse
}

moved {
  from = module.oltp
  to   = module.platform.module.oltp
}

moved {
  from = module.etl
  to   = module.platform.module.etl
}

moved {
  from = aws_iam_role_policy.etl_password_key
  to   = module.platform.module.etl.aws_iam_role_policy.warehouse_password_key
}

moved {
  from = module.frontend
  to   = module.platform.module.frontend[0]
}

moved {
  from = aws_kms_key.alarms[0]
  to   = module.platform.module.alarms_key[0].aws_kms_key.this
}

moved {
  from = aws_sns_topic.alarms
  to   = module.platform.aws_sns_topic.alarms
}

moved {
  from = aws_sns_topic_subscription.email
  to   = module.platform.aws_sns_topic_subscription.email
}

moved {
  from = aws_cloudwatch_metric_alarm.host_status
  to   = module.platform.aws_cloudwatch_metric_alarm.host_status
}
