bucket_name     = "clickstream-example-data-123456789012"
log_bucket_name = "clickstream-example-logs-123456789012"

lifecycle_rules = [
  # prefix unset: the whole bucket.
  { id = "noncurrent-versions", noncurrent_expiration_days = 7 },
  {
    id     = "events"
    prefix = "events/"
    transitions = [
      { days = 30, storage_class = "STANDARD_IA" },
      { days = 90, storage_class = "GLACIER_IR" },
    ]
    expiration_days            = 730
    noncurrent_expiration_days = 30
  },
]
