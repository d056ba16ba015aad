# dev: small and disposable, planned from envs/aws (`make plan ENV=dev`, envs/aws/README.md).
# Replace the example values (repository, URLs, parameter name).
environment        = "dev"
region             = "eu-central-1"
vpc_cidr           = "10.20.0.0/16"
availability_zones = ["eu-central-1a", "eu-central-1b"]
shop_origins       = ["https://develop.d1example.amplifyapp.com"] # the served branch (frontend.branch): validated

sizes = {
  warehouse_instance_type = "t3.large"
  warehouse_data_gib      = 50
  oltp_instance_type      = "t3.medium"
  oltp_data_gib           = 20
  etl_memory_mb           = 1024
}

retention = {
  log_days    = 365 # CloudWatch logs kept a year in every env (CKV_AWS_338); dev saves on backups instead
  backup_days = 7
}

deletion_protection = false
alarms              = { enabled = false }

frontend = {
  repository                  = "https://github.com/example/clickstream-shop"
  access_token_parameter_name = "/clickstream-dev/amplify/git-token"
  branch                      = "develop"
  callback_urls               = ["https://develop.d1example.amplifyapp.com/auth/callback"]
  logout_urls                 = ["https://develop.d1example.amplifyapp.com/"]
  domain_prefix               = "clickstream-dev-shop"
  threat_protection           = "AUDIT"
}

# Lambda reserved concurrency: off. A reservation must leave min(100, quota) executions
# unreserved in the account; a new account's "Concurrent executions" quota is 10, so any
# reservation fails the first apply there. Raise the quota (Service Quotas: Lambda) first;
# `make preflight ENV=dev` compares these with the account. The ETL's advisory lock keeps its
# runs apart without a reservation.
lambda_reserved_concurrency = { ingest = null, etl = null }
