# ETL Lambda: scheduled, single-flight, inside the private subnets, reading the raw bucket and
# writing the warehouse. See README.md for the permission and network rationale.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  function_name = "${var.name}-etl"
  account_id    = data.aws_caller_identity.current.account_id
  partition     = data.aws_partition.current.partition
  region        = data.aws_region.current.name
  bucket_arn    = "arn:${local.partition}:s3:::${var.raw.bucket_name}"
  log_group     = "/aws/lambda/${local.function_name}"
  log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group}"
  tags          = merge(var.tags, { "clickstream:component" = "etl" })
  # The log group is always encrypted with a customer managed key: the caller's, or one this
  # module creates (run summaries name object keys and warehouse errors).
  create_kms_key = var.kms_key_arn == null
  kms_key_arn    = local.create_kms_key ? module.log_key[0].key_arn : var.kms_key_arn
  # With the warehouse host's CA the ETL verifies the server (verify-full unless told
  # verify-ca); without it the connection encrypts but cannot know whom it talks to.
  # On the name, known at plan time (the ARN of a parameter created in the same apply is not).
  verify_warehouse = var.warehouse.ca_parameter_name != null
  dw_sslmode       = coalesce(var.warehouse.sslmode, local.verify_warehouse ? "verify-full" : "prefer")
  # The function writes its run figures as Embedded Metric Format log lines (no CloudWatch
  # endpoint or permission needed from the private subnets); the alarms below read them.
  metrics_namespace = "Clickstream/ETL"
}

# --- network ---------------------------------------------------------------------------------
resource "aws_security_group" "this" {
  #checkov:skip=CKV2_AWS_5:Attached to the ETL function through module.function's vpc input (modules/internal/lambda_function sets vpc_config.security_group_ids), a reference across a module call that the check's graph does not follow.
  name        = "${local.function_name}-lambda"
  description = "ETL Lambda: no ingress; egress only to the warehouse (5432), S3 and the SSM endpoints (443)."
  vpc_id      = var.vpc.vpc_id
  tags        = merge(local.tags, { Name = "${local.function_name}-lambda" })
}

resource "aws_vpc_security_group_egress_rule" "warehouse" {
  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL warehouse"
  ip_protocol                  = "tcp"
  from_port                    = var.warehouse.port
  to_port                      = var.warehouse.port
  referenced_security_group_id = var.warehouse.security_group_id
  tags                         = local.tags
}

resource "aws_vpc_security_group_egress_rule" "s3" {
  security_group_id = aws_security_group.this.id
  description       = "S3 through the gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = var.vpc.s3_prefix_list_id
  tags              = local.tags
}

resource "aws_vpc_security_group_egress_rule" "endpoints" {
  security_group_id            = aws_security_group.this.id
  description                  = "Interface endpoints (SSM for the warehouse password)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = var.vpc.endpoints_security_group_id
  tags                         = local.tags
}

# --- permissions ---------------------------------------------------------------------------------
# The role, its log streams, the failure queue and the VPC network interfaces are the
# sub-module's (module.function below); what the ETL's code reads is granted here.
data "aws_iam_policy_document" "lambda" {
  statement {
    sid       = "ListRawPrefix"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.raw.prefix}*"]
    }
  }
  statement {
    sid       = "ReadRawObjects"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/${var.raw.prefix}*"]
  }
  statement {
    sid       = "DecryptRawObjects"
    actions   = ["kms:Decrypt"]
    resources = [var.raw.kms_key_arn]
  }
  statement {
    sid       = "ReadWarehousePassword"
    actions   = ["ssm:GetParameter"]
    resources = [var.warehouse.password_parameter_arn]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "etl"
  role   = module.function.role_name
  policy = data.aws_iam_policy_document.lambda.json
}

# The warehouse host's CA certificate (a String parameter: public data, no KMS): exactly the
# one parameter, and only when it is given. A policy of its own so its rendered document is
# known at plan time (the ARN is an input) and the plan test reads it as the role gets it.
data "aws_iam_policy_document" "warehouse_ca" {
  count = local.verify_warehouse ? 1 : 0
  statement {
    sid       = "ReadWarehouseCa"
    actions   = ["ssm:GetParameter"]
    resources = [var.warehouse.ca_parameter_arn]
  }
}

resource "aws_iam_role_policy" "warehouse_ca" {
  count  = local.verify_warehouse ? 1 : 0
  name   = "etl-warehouse-ca"
  role   = module.function.role_name
  policy = data.aws_iam_policy_document.warehouse_ca[0].json
}

# The password parameter is a SecureString under the warehouse host's own key: reading it
# through SSM needs kms:Decrypt on that key, and only through SSM. A policy of its own, so
# the key (unknown until the warehouse applies) never hides the statements above at plan time.
data "aws_iam_policy_document" "warehouse_password_key" {
  statement {
    sid       = "DecryptWarehousePassword"
    actions   = ["kms:Decrypt"]
    resources = [var.warehouse.password_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "warehouse_password_key" {
  name   = "warehouse-password-key"
  role   = module.function.role_name
  policy = data.aws_iam_policy_document.warehouse_password_key.json
}

# --- log encryption (when no kms_key_arn is given) -----------------------------------------------
# The account root (i.e. IAM) administers the key; only CloudWatch Logs may use it, and only for
# this function's log group. Nobody reads the logs through KMS: CloudWatch Logs decrypts for
# readers it authorises itself.
module "log_key" {
  source                  = "../internal/kms_key"
  count                   = local.create_kms_key ? 1 : 0
  alias                   = "${local.function_name}-logs"
  description             = "${local.function_name}: the ETL function's CloudWatch logs"
  deletion_window_in_days = var.kms_deletion_window_days
  key_administrators      = ["arn:${local.partition}:iam::${local.account_id}:root"]
  key_service_principals = [{
    sid        = "CloudWatchLogsEncryptsTheFunctionsLogGroup"
    services   = ["logs.${local.region}.amazonaws.com"]
    actions    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]
    conditions = [{ test = "ArnEquals", variable = "kms:EncryptionContext:aws:logs:arn", values = [local.log_group_arn] }]
  }]
  tags = local.tags
}

# The function's environment, a local so the module's terraform tests read what the function gets.
locals {
  environment = merge({
    RAW_BUCKET            = var.raw.bucket_name
    RAW_PREFIX            = var.raw.prefix
    DW_HOST               = var.warehouse.host
    DW_PORT               = tostring(var.warehouse.port)
    DW_NAME               = var.warehouse.database
    DW_USER               = var.warehouse.user
    DW_PASSWORD_PARAM     = var.warehouse.password_parameter_arn
    DW_SSLMODE            = local.dw_sslmode
    ETL_SAFETY_MS         = tostring(var.lambda.safety_ms)
    ETL_LOOKBACK_DAYS     = tostring(var.lambda.lookback_days)
    ETL_BATCH_MAX_EVENTS  = tostring(var.lambda.batch_max_events)
    ETL_WORKERS           = tostring(var.lambda.workers)
    ETL_METRICS_NAMESPACE = local.metrics_namespace
  }, local.verify_warehouse ? { DW_CA_PARAM = var.warehouse.ca_parameter_name } : {})
}

# --- function ---------------------------------------------------------------------------------
# The queue holds failed invocation records (the schedule event and the error), never raw events
# or warehouse rows. SQS-managed SSE encrypts them without giving the function role KMS rights;
# with a customer managed key, Lambda's on-failure delivery would need kms:GenerateDataKey and
# kms:Decrypt on it through the role.
resource "aws_sqs_queue" "failures" {
  name                      = "${local.function_name}-failures"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = local.tags
}

# Function, role, encrypted log group, the failure queue as dead-letter target and on-failure
# destination, and the VPC placement come from modules/internal/lambda_function.
module "function" {
  source      = "../internal/lambda_function"
  name        = local.function_name
  description = "Load raw clickstream objects from S3 into the warehouse, exactly once"
  package     = { path = var.package_path, hash = var.package_hash }
  handler     = "etl.handler.handler"
  # reserved_concurrency null (the default): no reservation, which a new account's quota of 10
  # could not grant. Runs never overlap either way: each takes the warehouse's lock lease
  # (lambda_src/etl/db.py).
  settings = var.lambda
  vpc      = { subnet_ids = var.vpc.subnet_ids, security_group_ids = [aws_security_group.this.id] }
  # Scheduled invocations are asynchronous: no Lambda-level retries (the next scheduled run is
  # the retry, and it resumes from the manifest), failures go to the queue.
  failures = { queue_arn = aws_sqs_queue.failures.arn, maximum_retry_attempts = 0, maximum_event_age_in_seconds = 3600 }
  # The condition is spelled out (not local.kms_key_arn) so a plan scan sees the key reference.
  log         = { retention_days = var.log_retention_days, kms_key_arn = var.kms_key_arn == null ? module.log_key[0].key_arn : var.kms_key_arn }
  role        = { description = "ETL Lambda: read raw events, read the warehouse password, manage its VPC ENIs.", policy_prefix = "etl" }
  environment = local.environment
  tags        = local.tags
}

# --- schedule ---------------------------------------------------------------------------------
resource "aws_cloudwatch_event_rule" "this" {
  name                = "${local.function_name}-schedule"
  description         = "Run the ETL"
  schedule_expression = var.schedule_expression
  tags                = local.tags
}

resource "aws_cloudwatch_event_target" "this" {
  rule      = aws_cloudwatch_event_rule.this.name
  target_id = "etl"
  arn       = module.function.function_arn
}

resource "aws_lambda_permission" "schedule" {
  statement_id  = "AllowEventBridgeSchedule"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this.arn
}

# --- alarms -----------------------------------------------------------------------------------
resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${local.function_name}-errors"
  alarm_description   = "The ETL run failed (warehouse down, bug); nothing of the failed batch was committed."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = module.function.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "failures" {
  alarm_name          = "${local.function_name}-failed-runs"
  alarm_description   = "A failed ETL invocation is waiting in the failure queue."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.failures.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  tags                = local.tags
}

# An object the warehouse still owes: its read keeps failing (retried every run when due) or
# its bytes are bad (failed once). The ETL reports the count after every run (gauge); the
# alarm holds until each such object loads or an operator marks it (python -m etl.mark).
# Missing points (no run, or a skipped one) keep the alarm's state rather than clearing it.
resource "aws_cloudwatch_metric_alarm" "unreadable_objects" {
  alarm_name          = "${local.function_name}-unreadable-objects"
  alarm_description   = "Raw objects the warehouse cannot load (dw.v_unreadable_objects): retried until they load, or mark them with python -m etl.mark --key K --reason R."
  namespace           = local.metrics_namespace
  metric_name         = "UnreadableObjects"
  dimensions          = { FunctionName = module.function.function_name }
  statistic           = "Maximum"
  period              = 900
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}

# A loaded object whose counts do not add up: received (declared by ingest in the object's
# metadata, else its lines) != loaded + duplicates + rejected. Each one is listed in
# dw.v_accounting_mismatches; the alarm fires for the period of the run that found it.
resource "aws_cloudwatch_metric_alarm" "accounting" {
  alarm_name          = "${local.function_name}-accounting-mismatch"
  alarm_description   = "A raw object's events are not all accounted for (received != loaded + duplicates + rejected): see dw.v_accounting_mismatches."
  namespace           = local.metrics_namespace
  metric_name         = "AccountingMismatches"
  dimensions          = { FunctionName = module.function.function_name }
  statistic           = "Sum"
  period              = 900
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  tags                = local.tags
}
