# The warehouse wrapper: what it adds to modules/postgres_host (its role, defaults, dashboards,
# and that it refuses to exist without its loader). Hostile values of the shared inputs are
# refused by postgres_host, whose own test file feeds them. Runs against the AWS emulator (the
# ephemeral password cannot be mocked), driven by tests/plan/test_warehouse.py.

variables {
  name                        = "cs-test"
  vpc_id                      = "vpc-0123456789abcdef0"
  subnet_id                   = "subnet-0123456789abcdef0"
  availability_zone           = "us-east-1a"
  ami                         = { id = "ami-0123456789abcdef0" }
  client_security_groups      = { etl = "sg-0123456789abcdef0" }
  client_cidrs                = ["10.20.64.0/24"]
  s3_prefix_list_id           = "pl-63a5400a"
  endpoints_security_group_id = "sg-0fedcba9876543210"
  bundle = {
    bucket_name = "cs-test-artifacts"
    bucket_arn  = "arn:aws:s3:::cs-test-artifacts"
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"
    key         = "dw/bundles/warehouse-ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb.tar.gz"
    sha256      = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
  }
}

run "defaults_make_a_warehouse" {
  command = plan
  assert {
    condition     = strcontains(output.user_data, "ROLE='warehouse'") && strcontains(output.user_data, "DB_NAME='clickstream'") && strcontains(output.user_data, "ADMIN_USER='dw_admin'") && strcontains(output.user_data, "BACKUP_PREFIX='backups/dw/'")
    error_message = "the warehouse defaults (role, database, owner, backup prefix) must reach host.env"
  }
  assert {
    condition     = strcontains(output.user_data, "DASHBOARD_USER='shiny'") && strcontains(output.user_data, "SHINY_PORT='8080'")
    error_message = "the dashboards' login and port must reach host.env"
  }
  assert {
    condition     = output.ca_parameter_name == "/cs-test/dw/tls-ca" && output.status_parameter_name == "/cs-test/dw/bootstrap-status" && output.password_parameter_name == "/cs-test/dw/dw_admin/password"
    error_message = "the warehouse's parameters live under /<name>/dw/"
  }
}

run "dashboards_port_reaches_the_host" {
  command = plan
  variables { shiny = { port = 8787 } }
  assert {
    condition     = strcontains(output.user_data, "SHINY_PORT='8787'")
    error_message = "the dashboards' port must reach host.env (the port-forward command names it too; the apply test reads it)"
  }
}

run "no_client_group_refused" {
  command = plan
  variables { client_security_groups = {} }
  expect_failures = [var.client_security_groups]
}

run "no_client_cidr_refused" {
  command = plan
  variables { client_cidrs = [] }
  expect_failures = [var.client_cidrs]
}
