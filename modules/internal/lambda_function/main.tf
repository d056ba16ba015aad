# One Lambda function with what every function of the platform has: an execution role only
# Lambda of this account may assume, an encrypted log group with retention (the function logs
# nowhere else), the permissions its own configuration needs (its log streams, the failure
# queue, the VPC network interfaces) and nothing the function's code does: the caller attaches
# those to the role_name output.

data "aws_caller_identity" "current" {}

locals {
  log_group = "/aws/lambda/${var.name}"
}

# --- role -------------------------------------------------------------------------------------
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
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-role"
  description        = var.role.description
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

# Its own log streams, and the failure queue when there is one. Not the managed
# AWSLambdaBasicExecutionRole: that allows logs:* on every log group of the account.
data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
  dynamic "statement" {
    for_each = var.failures == null ? [] : [var.failures.queue_arn]
    content {
      sid       = "SendFailedInvocations"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "${var.role.policy_prefix}-execution"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.execution.json
}

# Lambda creates and deletes the function's ENIs with the execution role. EC2 does not support
# resource-level permissions for the Describe* calls, and the ENI ids do not exist before
# creation, so AWS documents these actions on "*" (they are exactly the actions of the managed
# AWSLambdaVPCAccessExecutionRole, minus its logs:* on "*"). Every action is named; there is no
# wildcard action. A document of its own, so the checkov skip below covers these six actions
# and nothing else, and only for a function placed in a VPC.
data "aws_iam_policy_document" "vpc_enis" {
  #checkov:skip=CKV_AWS_111,CKV_AWS_356:ec2 network-interface actions for VPC Lambdas cannot be scoped before the ENI exists (Describe* has no resource-level permissions); the same set as AWSLambdaVPCAccessExecutionRole, without its logs:* on "*". This document holds nothing else.
  count = var.vpc == null ? 0 : 1
  statement {
    sid = "ManageVpcEnis"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSubnets",
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "vpc_enis" {
  #checkov:skip=CKV_AWS_290,CKV_AWS_355:The rendered data.aws_iam_policy_document.vpc_enis: ec2 network-interface actions for VPC Lambdas cannot be scoped before the ENI exists (Describe* has no resource-level permissions); the AWSLambdaVPCAccessExecutionRole set without logs:*. Nothing else is in this policy.
  count  = var.vpc == null ? 0 : 1
  name   = "${var.role.policy_prefix}-vpc-enis"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.vpc_enis[0].json
}

# --- logs -------------------------------------------------------------------------------------
resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Always encrypted with a customer managed key: kms_key_id is var.log.kms_key_arn, which is required, not nullable and validated as a KMS key ARN (a caller cannot pass none). checkov's plan scan drops var.* references, so a key created in the same apply reads as missing there; the callers' source scans see their key resources.
  name              = local.log_group
  retention_in_days = var.log.retention_days
  kms_key_id        = var.log.kms_key_arn
  tags              = var.tags
}

# --- function ---------------------------------------------------------------------------------
resource "aws_lambda_function" "this" {
  # The skips hold for every caller of this module (modules/ingest, modules/etl); each reason says
  # what each caller decided, because a skip written on a module call does not reach the source
  # scan of this file.
  #checkov:skip=CKV_AWS_117:VPC placement is the caller's vpc input: modules/etl runs in private subnets; modules/ingest's functions (ingest, and the buffer's batcher) talk only to SQS, S3 and KMS over their public endpoints, where a VPC would add a NAT or endpoints for no isolation gain.
  #checkov:skip=CKV_AWS_116:The dead-letter queue is the caller's failures input: modules/etl (scheduled, asynchronous) sets its failure queue; modules/ingest's function is invoked synchronously by API Gateway, where a DLQ never applies (failed writes are answered 503 and retried by the tracker), and its batcher synchronously by an SQS event source mapping, where the buffer queue's redrive policy moves a failing message to its own DLQ.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (names, prefixes, limits; the warehouse password is read from SSM at run time); a KMS key for it would need kms:Decrypt on the role for nothing.
  #checkov:skip=CKV_AWS_272:Code signing is not used; the deployed zip is pinned by source_code_hash and checked by the e2e harness.
  #checkov:skip=CKV_AWS_50:X-Ray needs xray:Put* on "*", which the least-privilege roles rule out (and a route to X-Ray from private subnets); request ids and run summaries in the JSON logs are the trace.
  #checkov:skip=CKV_AWS_115:Reserved concurrency is off by default because AWS refuses any reservation on an account whose concurrency quota is 10 (a new account), so the first apply would fail; ingest's API stage throttling bounds its rate and the ETL's warehouse lock lease keeps its runs apart; settings.reserved_concurrency sets a cap where the quota allows (make preflight checks it).
  function_name    = var.name
  description      = var.description
  role             = aws_iam_role.this.arn
  filename         = var.package.path
  source_code_hash = var.package.hash
  handler          = var.handler
  runtime          = var.runtime
  architectures    = [var.architecture]
  memory_size      = var.settings.memory_size
  timeout          = var.settings.timeout
  # null (the default) leaves the function unreserved: the provider sends -1, no reservation.
  reserved_concurrent_executions = var.settings.reserved_concurrency

  dynamic "vpc_config" {
    for_each = var.vpc == null ? [] : [var.vpc]
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  dynamic "dead_letter_config" {
    for_each = var.failures == null ? [] : [var.failures.queue_arn]
    content {
      target_arn = dead_letter_config.value
    }
  }

  environment {
    variables = var.environment
  }

  logging_config {
    log_format = "Text" # the functions already write one JSON object per line
    log_group  = aws_cloudwatch_log_group.this.name
  }

  tags = var.tags
  # Lambda checks at creation that the role may send to the dead-letter queue and create
  # network interfaces; the log group exists before the first line is written.
  depends_on = [aws_iam_role_policy.execution, aws_iam_role_policy.vpc_enis, aws_cloudwatch_log_group.this]
}

# Asynchronous invocations (a schedule): the caller's retries and event age, failures to the
# same queue as the dead-letter target.
resource "aws_lambda_function_event_invoke_config" "this" {
  count                        = var.failures == null ? 0 : 1
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.failures.maximum_retry_attempts
  maximum_event_age_in_seconds = var.failures.maximum_event_age_in_seconds
  destination_config {
    on_failure {
      destination = var.failures.queue_arn
    }
  }
}
