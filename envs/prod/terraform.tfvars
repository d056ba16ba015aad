# prod: larger hosts, longer retention, deletion protection and alarms on, AMI pinned; planned
# from envs/aws (`make plan ENV=prod`, envs/aws/README.md).
# Replace the example values (AMI, repository, URLs, parameter name, e-mail).
environment        = "prod"
region             = "eu-central-1"
vpc_cidr           = "10.40.0.0/16"
availability_zones = ["eu-central-1a", "eu-central-1b", "eu-central-1c"]
shop_origins       = ["https://shop.example.com"]
ami_id             = "ami-0a1b2c3d4e5f60718"

sizes = {
  warehouse_instance_type = "r6i.xlarge"
  warehouse_data_gib      = 500
  oltp_instance_type      = "m6i.large"
  oltp_data_gib           = 200
  etl_memory_mb           = 3008
}

retention = {
  log_days    = 365
  backup_days = 35
}

deletion_protection = true
alarms              = { enabled = true, email = "data-platform-oncall@example.com" }

frontend = {
  repository                  = "https://github.com/example/clickstream-shop"
  access_token_parameter_name = "/clickstream-prod/amplify/git-token"
  branch                      = "main"
  callback_urls               = ["https://shop.example.com/auth/callback"]
  logout_urls                 = ["https://shop.example.com/"]
  domain_prefix               = "clickstream-shop-login"
  # Cognito's own sender allows 50 e-mails a day: before launch, send through SES with
  # email = { source_arn = "arn:aws:ses:eu-central-1:<account>:identity/shop.example.com", from = "no-reply@shop.example.com" }
}

# Lambda reserved concurrency: off. A reservation must leave min(100, quota) executions
# unreserved in the account; a new account's "Concurrent executions" quota is 10, so any
# reservation fails the first apply there. Raise the quota (Service Quotas: Lambda) first;
# `make preflight ENV=prod` compares these with the account. The ETL's advisory lock keeps its
# runs apart without a reservation.
lambda_reserved_concurrency = { ingest = null, etl = null }
