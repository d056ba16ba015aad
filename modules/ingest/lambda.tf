# --- Ingest function ---------------------------------------------------------------------------
# Function, execution role, encrypted log group and the role's log-stream permission come from
# modules/internal/lambda_function; what the function does to S3 and KMS is granted below.
module "function" {
  source      = "../internal/lambda_function"
  name        = local.function_name
  description = "Validate, enrich and store clickstream events (POST /v1/events)"
  package     = { path = var.package_path, hash = var.package_hash }
  handler     = "ingest.handler.handler"
  settings    = var.lambda
  log         = { retention_days = var.log_retention_days, kms_key_arn = module.key.key_arn }
  role        = { description = "Ingest Lambda: write raw events, nothing else.", policy_prefix = "ingest" }
  environment = merge({
    RAW_BUCKET             = module.raw_bucket.id
    RAW_PREFIX             = var.raw_prefix
    RAW_KMS_KEY_ARN        = module.key.key_arn
    ALLOWED_APP_IDS        = join(",", var.allowed_app_ids)
    CORS_ALLOW_ORIGINS     = join(",", var.cors_allow_origins)
    MAX_BODY_BYTES         = tostring(var.lambda.max_body_bytes)
    MAX_EVENTS_PER_REQUEST = tostring(var.lambda.max_events_per_request)
    LOG_LEVEL              = var.lambda.log_level
    }, local.buffer_enabled ? {
    # The buffer (buffer.tf): requests whose message fits go to the queue, the rest to S3.
    BUFFER_QUEUE_URL         = aws_sqs_queue.buffer[0].url
    BUFFER_MAX_MESSAGE_BYTES = tostring(local.buffer_max_message_bytes)
  } : {})
  tags = local.tags
}

# Exactly what the function does: one PutObject per request under the accepted or the rejected
# prefix, encrypted with this key (GenerateDataKey). No read, no list, no delete, no "*". Its
# log lines are the sub-module's own grant.
data "aws_iam_policy_document" "lambda" {
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

resource "aws_iam_role_policy" "this" {
  name   = "ingest"
  role   = module.function.role_name
  policy = data.aws_iam_policy_document.lambda.json
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowHttpApiPostEvents"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/POST/v1/events"
}
