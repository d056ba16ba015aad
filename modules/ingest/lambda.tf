# --- Ingest function ---------------------------------------------------------------------------
data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${local.function_name}-role"
  description        = "Ingest Lambda: write raw events, nothing else."
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = local.tags
}

# Exactly what the function does: one PutObject per request under the accepted or the rejected
# prefix, encrypted with this key (GenerateDataKey), and its own log lines. No read, no list,
# no delete, no "*".
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
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda.arn}:*"]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "ingest"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.lambda.json
}

resource "aws_cloudwatch_log_group" "lambda" {
  name              = local.lambda_log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = module.key.key_arn
  tags              = local.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The function talks only to S3 and KMS over their public endpoints; a VPC would add a NAT or endpoints for no isolation gain.
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway; a DLQ only applies to asynchronous invocations. Failed writes are answered 503 and retried by the tracker.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (bucket, prefix, app ids, limits); a KMS key for it would need kms:Decrypt on the role.
  #checkov:skip=CKV_AWS_272:Code signing is not used; the deployed zip is pinned by source_code_hash and checked by the e2e harness.
  #checkov:skip=CKV_AWS_50:X-Ray needs xray:Put* on "*", which the least-privilege policy rules out; request ids in the JSON logs correlate with API access logs.
  #checkov:skip=CKV_AWS_115:Reserved concurrency is off by default because AWS refuses any reservation on an account whose concurrency quota is 10 (a new account), so the first apply would fail; the API stage throttling bounds the request rate instead, and lambda.reserved_concurrency sets a cap where the quota allows (make preflight checks it).
  function_name    = local.function_name
  description      = "Validate, enrich and store clickstream events (POST /v1/events)"
  role             = aws_iam_role.this.arn
  filename         = var.package_path
  source_code_hash = var.package_hash
  handler          = "ingest.handler.handler"
  runtime          = "python3.12"
  architectures    = ["x86_64"]
  memory_size      = var.lambda.memory_size
  timeout          = var.lambda.timeout
  # null (the default) leaves the function unreserved: the provider sends -1, no reservation.
  reserved_concurrent_executions = var.lambda.reserved_concurrency

  environment {
    variables = {
      RAW_BUCKET             = module.raw_bucket.id
      RAW_PREFIX             = var.raw_prefix
      RAW_KMS_KEY_ARN        = module.key.key_arn
      ALLOWED_APP_IDS        = join(",", var.allowed_app_ids)
      CORS_ALLOW_ORIGINS     = join(",", var.cors_allow_origins)
      MAX_BODY_BYTES         = tostring(var.lambda.max_body_bytes)
      MAX_EVENTS_PER_REQUEST = tostring(var.lambda.max_events_per_request)
      LOG_LEVEL              = var.lambda.log_level
    }
  }

  logging_config {
    log_format = "Text" # the function already writes one JSON object per line
    log_group  = aws_cloudwatch_log_group.lambda.name
  }

  tags       = local.tags
  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.lambda]
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowHttpApiPostEvents"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/POST/v1/events"
}
