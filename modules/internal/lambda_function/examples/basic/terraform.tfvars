# 123456789012 is the emulator's account. The zip (package_path, package_hash) is passed by the
# plan test from the deterministic build.
name    = "clickstream-example-fn"
handler = "etl.handler.handler"

settings = { memory_size = 1024, timeout = 600 }

environment = { RAW_PREFIX = "events/v1/", LOG_LEVEL = "INFO" }

vpc = {
  subnet_ids         = ["subnet-0123456789abcdef0"]
  security_group_ids = ["sg-0123456789abcdef0"]
}

failures = {
  queue_arn                    = "arn:aws:sqs:us-east-1:123456789012:clickstream-example-fn-failures"
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 3600
}

log = {
  retention_days = 365
  kms_key_arn    = "arn:aws:kms:us-east-1:123456789012:key/8f1e2d3c-4b5a-4697-8877-665544332211"
}

role = {
  description   = "Example function: its logs and its failure queue, nothing else."
  policy_prefix = "example"
}
