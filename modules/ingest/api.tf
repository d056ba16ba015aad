# --- HTTP API: POST /v1/events -------------------------------------------------------------------
resource "aws_apigatewayv2_api" "this" {
  name          = "${var.name}-ingest"
  description   = "Clickstream event collection"
  protocol_type = "HTTP"

  # API Gateway answers the preflight itself and only for these origins. text/plain bodies
  # (navigator.sendBeacon) need no preflight at all.
  cors_configuration {
    allow_origins = var.cors_allow_origins
    allow_methods = ["OPTIONS", "POST"]
    allow_headers = ["content-encoding", "content-type"]
    max_age       = 600
  }

  tags = local.tags
}

resource "aws_apigatewayv2_integration" "this" {
  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = module.function.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 30000
}

resource "aws_apigatewayv2_route" "this" {
  #checkov:skip=CKV_AWS_309:A public browser collection endpoint cannot hold credentials; it is guarded by app_id allow-listing, CORS and stage throttling (plus reserved concurrency where the account's quota allows one).
  api_id    = aws_apigatewayv2_api.this.id
  route_key = "POST /v1/events"
  target    = "integrations/${aws_apigatewayv2_integration.this.id}"
}

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_338:Privacy: access log lines carry each visitor's full IP and user agent (events keep only a truncated IP), so they are kept access_log_retention_days (default 90) for operations, not a year; retention is always set (CKV_CS_4).
  name              = local.access_log_group
  retention_in_days = var.access_log_retention_days
  kms_key_id        = module.key.key_arn
  tags              = local.tags
}

resource "aws_apigatewayv2_stage" "this" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_rate_limit    = var.throttling.rate_limit
    throttling_burst_limit   = var.throttling.burst_limit
    detailed_metrics_enabled = true
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTime"
      ip                 = "$context.identity.sourceIp"
      httpMethod         = "$context.httpMethod"
      routeKey           = "$context.routeKey"
      path               = "$context.path"
      status             = "$context.status"
      protocol           = "$context.protocol"
      responseLength     = "$context.responseLength"
      integrationStatus  = "$context.integrationStatus"
      integrationLatency = "$context.integrationLatency"
      integrationError   = "$context.integrationErrorMessage"
      userAgent          = "$context.identity.userAgent"
    })
  }

  tags = local.tags
}
