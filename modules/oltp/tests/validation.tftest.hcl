# The OLTP wrapper: an OLTP host with the shop's defaults, no dashboards and, by default, no
# client. Hostile values of the shared inputs are refused by modules/postgres_host (its own
# test file feeds them). Runs against the AWS emulator, driven by tests/plan/test_oltp.py.

variables {
  name                        = "cs-test"
  vpc_id                      = "vpc-0123456789abcdef0"
  subnet_id                   = "subnet-0123456789abcdef0"
  availability_zone           = "us-east-1a"
  ami                         = { id = "ami-0123456789abcdef0" }
  s3_prefix_list_id           = "pl-63a5400a"
  endpoints_security_group_id = "sg-0fedcba9876543210"
  bundle = {
    bucket_name = "cs-test-artifacts"
    bucket_arn  = "arn:aws:s3:::cs-test-artifacts"
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"
    key         = "oltp/bundles/oltp-3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d.tar.gz"
    sha256      = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
  }
}

run "defaults_make_a_shop_database_without_clients" {
  command = plan
  assert {
    condition     = strcontains(output.user_data, "ROLE='oltp'") && strcontains(output.user_data, "DB_NAME='shop'") && strcontains(output.user_data, "ADMIN_USER='shop_app'") && strcontains(output.user_data, "MAX_CONNECTIONS='200'") && strcontains(output.user_data, "BACKUP_PREFIX='backups/oltp/'")
    error_message = "the OLTP defaults (role, database, owner, connections, backup prefix) must reach host.env"
  }
  assert {
    condition     = strcontains(output.user_data, "DASHBOARD_USER=''") && strcontains(output.user_data, "SHINY_PORT=''") && strcontains(output.user_data, "CLIENT_CIDRS=''")
    error_message = "the OLTP host runs no dashboards and, without clients, admits no TCP login"
  }
  assert {
    condition     = output.status_parameter_name == "/cs-test/oltp/bootstrap-status" && output.ca_parameter_name == "/cs-test/oltp/tls-ca"
    error_message = "the OLTP host's parameters live under /<name>/oltp/"
  }
}

run "the_app_tier_may_log_in" {
  command = plan
  variables {
    client_security_groups = { app = "sg-0123456789abcdef0" }
    client_cidrs           = ["10.20.96.0/24", "10.20.97.0/24"]
  }
  assert {
    condition     = strcontains(output.user_data, "CLIENT_CIDRS='10.20.96.0/24 10.20.97.0/24'")
    error_message = "the application tier's subnets must reach pg_hba through host.env"
  }
}
