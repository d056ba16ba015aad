# --- Buffer: ingest -> SQS -> batcher -> one raw object per batch (docs/lake.md) ----------------
# With the buffer on (the default), the ingest function sends each request's events to the
# buffer queue instead of writing one small object per request; the batcher function, fed by
# an SQS event source mapping, writes one gzipped object per batch under the same prefixes and
# names the messages it could not store (ReportBatchItemFailures), which SQS delivers again
# and, after 5 receives, moves to the dead-letter queue. Requests too large for one message
# still go straight to S3 (ingest keeps its PutObject grant for that fallback).
#
# Encryption is SQS-managed SSE, not the raw bucket's key: that key's policy lets account
# principals use it only through S3 (kms:ViaService), and a queue encrypted with it would need
# that widened to SQS plus kms:GenerateDataKey/Decrypt for ingest (every SendMessage) and
# kms:Decrypt for the batcher and for Lambda's poller. With SSE-SQS no role holds any KMS
# permission for the queue; who may send and receive is decided by IAM and the queue policy
# alone. The messages live at most 14 days; at rest in S3 they are under the CMK again.

locals {
  buffer_enabled = var.buffer.enabled
  batcher_name   = "${var.name}-batcher"
  buffer_queue   = "${var.name}-ingest-buffer"
  buffer_dlq     = "${var.name}-ingest-buffer-dlq"
  # AWS advises a visibility timeout of at least 6x the function's timeout for an SQS-fed
  # function, so a batch still being retried is not delivered a second time meanwhile.
  buffer_visibility_timeout = 6 * var.buffer.batcher.timeout
  # The largest message the pinned provider (hashicorp/aws < 6) accepts: 256 KiB. SQS itself
  # takes 1 MiB since August 2025 and provider 6.x validates up to it (hashicorp/
  # terraform-provider-aws#43710); raise this to 1048576 with the provider. Ingest sends what
  # fits (BUFFER_MAX_MESSAGE_BYTES) and writes the rest to S3 itself.
  buffer_max_message_bytes = 262144
  buffer_arn_pattern       = "arn:${local.partition}:sqs:${local.region}:${local.account_id}"
}

resource "aws_sqs_queue" "buffer_dlq" {
  count                     = local.buffer_enabled ? 1 : 0
  name                      = local.buffer_dlq
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = merge(local.tags, { Name = local.buffer_dlq })
}

resource "aws_sqs_queue" "buffer" {
  count                      = local.buffer_enabled ? 1 : 0
  name                       = local.buffer_queue
  message_retention_seconds  = 1209600
  receive_wait_time_seconds  = 20
  visibility_timeout_seconds = local.buffer_visibility_timeout
  max_message_size           = local.buffer_max_message_bytes
  sqs_managed_sse_enabled    = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.buffer_dlq[0].arn
    maxReceiveCount     = 5
  })
  tags = merge(local.tags, { Name = local.buffer_queue })
}

# Only the buffer may move messages into the dead-letter queue. By ARN, built from the name:
# a reference to the buffer's arn would be a cycle (the buffer's redrive names the DLQ).
# Left out only where buffer.restrict_dlq_sources is false: the emulator, whose SQS does not
# know the RedriveAllowPolicy attribute (the provider would wait for it forever).
resource "aws_sqs_queue_redrive_allow_policy" "buffer_dlq" {
  count     = local.buffer_enabled && var.buffer.restrict_dlq_sources ? 1 : 0
  queue_url = aws_sqs_queue.buffer_dlq[0].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = ["${local.buffer_arn_pattern}:${local.buffer_queue}"]
  })
}

# Both queues refuse any request not made over TLS.
data "aws_iam_policy_document" "buffer_tls" {
  for_each = local.buffer_enabled ? { buffer = aws_sqs_queue.buffer[0].arn, dlq = aws_sqs_queue.buffer_dlq[0].arn } : {}
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [each.value]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "buffer" {
  for_each  = local.buffer_enabled ? { buffer = aws_sqs_queue.buffer[0].id, dlq = aws_sqs_queue.buffer_dlq[0].id } : {}
  queue_url = each.value
  policy    = data.aws_iam_policy_document.buffer_tls[each.key].json
}

# --- Batcher function -----------------------------------------------------------------------
# Function, role, encrypted log group (the raw key: its policy already lets CloudWatch Logs use
# it for this log group, main.tf) and the role's log-stream permission come from
# modules/internal/lambda_function. Outside any VPC, like ingest: it talks only to SQS, S3 and
# KMS over their public endpoints.
module "batcher_function" {
  source      = "../internal/lambda_function"
  count       = local.buffer_enabled ? 1 : 0
  name        = local.batcher_name
  description = "Batch buffered clickstream events from SQS into one raw object per batch"
  package     = { path = var.batcher_package_path, hash = var.batcher_package_hash }
  handler     = "batcher.handler.handler"
  settings    = var.buffer.batcher
  log         = { retention_days = var.log_retention_days, kms_key_arn = module.key.key_arn }
  role        = { description = "Batcher Lambda: read the ingest buffer, write raw events, nothing else.", policy_prefix = "batcher" }
  environment = {
    RAW_BUCKET      = module.raw_bucket.id
    RAW_PREFIX      = var.raw_prefix
    RAW_KMS_KEY_ARN = module.key.key_arn
  }
  tags = local.tags
}

# Exactly what the batcher and its event source mapping do: receive, delete and hand back
# (ChangeMessageVisibility) messages of the buffer queue, read its attributes (the mapping),
# and put objects under the accepted and rejected prefixes with the raw key. No SQS send, no
# S3 read, list or delete; no KMS for the queue (SQS-managed SSE).
data "aws_iam_policy_document" "batcher" {
  count = local.buffer_enabled ? 1 : 0
  statement {
    sid       = "ConsumeBuffer"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    resources = [aws_sqs_queue.buffer[0].arn]
  }
  statement {
    sid     = "PutRawEvents"
    actions = ["s3:PutObject"]
    resources = [
      "${module.raw_bucket.arn}/${local.accepted_prefix}*",
      "${module.raw_bucket.arn}/${local.rejected_prefix}*",
    ]
  }
  statement {
    sid       = "EncryptRawEvents"
    actions   = ["kms:GenerateDataKey"]
    resources = [module.key.key_arn]
  }
}

resource "aws_iam_role_policy" "batcher" {
  count  = local.buffer_enabled ? 1 : 0
  name   = "batcher"
  role   = module.batcher_function[0].role_name
  policy = data.aws_iam_policy_document.batcher[0].json
}

# Ingest's part: send to the buffer, nothing else of SQS. Its own policy document so the
# buffer-off plan keeps ingest's policy exactly as it was.
data "aws_iam_policy_document" "ingest_buffer" {
  count = local.buffer_enabled ? 1 : 0
  statement {
    sid       = "SendToBuffer"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.buffer[0].arn]
  }
}

resource "aws_iam_role_policy" "ingest_buffer" {
  count  = local.buffer_enabled ? 1 : 0
  name   = "ingest-buffer"
  role   = module.function.role_name
  policy = data.aws_iam_policy_document.ingest_buffer[0].json
}

resource "aws_lambda_event_source_mapping" "buffer" {
  count                              = local.buffer_enabled ? 1 : 0
  event_source_arn                   = aws_sqs_queue.buffer[0].arn
  function_name                      = module.batcher_function[0].function_arn
  enabled                            = var.buffer.mapping_enabled
  batch_size                         = var.buffer.batch_size
  maximum_batching_window_in_seconds = var.buffer.batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]
  scaling_config {
    maximum_concurrency = var.buffer.maximum_concurrency
  }
  tags = local.tags
  # The mapping polls with the role: its SQS grant must exist first.
  depends_on = [aws_iam_role_policy.batcher]
}

# --- Buffer alarms --------------------------------------------------------------------------
locals {
  buffer_alarms = local.buffer_enabled ? {
    dlq-messages = {
      description = "Buffered events the batcher failed 5 times are waiting in the dead-letter queue (garbled message or a persistent S3/KMS error): inspect and redrive them."
      namespace   = "AWS/SQS", metric = "ApproximateNumberOfMessagesVisible", statistic = "Maximum"
      dimensions  = { QueueName = aws_sqs_queue.buffer_dlq[0].name }, threshold = 0, period = 300
    }
    oldest-message = {
      description = "The oldest buffered message is over 15 minutes old: the batcher is not keeping up or not running, and events are not reaching the lake."
      namespace   = "AWS/SQS", metric = "ApproximateAgeOfOldestMessage", statistic = "Maximum"
      dimensions  = { QueueName = aws_sqs_queue.buffer[0].name }, threshold = 900, period = 300
    }
    batcher-errors = {
      description = "The batcher function failed (its whole batch returns to the queue)."
      namespace   = "AWS/Lambda", metric = "Errors", statistic = "Sum"
      dimensions  = { FunctionName = module.batcher_function[0].function_name }, threshold = 0, period = 300
    }
  } : {}
}

resource "aws_cloudwatch_metric_alarm" "buffer" {
  for_each            = local.buffer_alarms
  alarm_name          = "${var.name}-ingest-buffer-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}
