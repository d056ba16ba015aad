# Input validation of the oltp module: each run feeds one hostile or wrong value and expects
# that variable to refuse it. Runs against the AWS emulator (the harness writes the provider
# override; ephemeral resources cannot be mocked), driven by tests/plan/test_oltp.py.

variables {
  name                        = "cs-test"
  vpc_id                      = "vpc-0123456789abcdef0"
  subnet_id                   = "subnet-0123456789abcdef0"
  availability_zone           = "us-east-1a"
  ami                         = { id = "ami-0123456789abcdef0" }
  s3_prefix_list_id           = "pl-63a5400a"
  endpoints_security_group_id = "sg-0fedcba9876543210"
  artifacts = {
    bucket_name = "cs-test-artifacts"
    bucket_arn  = "arn:aws:s3:::cs-test-artifacts"
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"
  }
}

run "no_clients_means_no_ingress" {
  command = plan
  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.postgres) == 0
    error_message = "without application security groups the OLTP host must admit nothing"
  }
  assert {
    condition     = aws_instance.this.associate_public_ip_address == false && aws_instance.this.metadata_options[0].http_tokens == "required"
    error_message = "the host must have no public IP and require IMDSv2"
  }
}

run "internet_cidr_refused" {
  command = plan
  variables { client_cidrs = ["0.0.0.0/0"] }
  expect_failures = [var.client_cidrs]
}

run "cidr_list_as_security_group_refused" {
  command = plan
  variables { client_security_groups = { app = "0.0.0.0/0" } }
  expect_failures = [var.client_security_groups]
}

run "sql_injection_in_database_name_refused" {
  command = plan
  variables { database = { name = "shop; DROP DATABASE postgres" } }
  expect_failures = [var.database]
}

run "path_traversal_prefix_refused" {
  command = plan
  variables {
    artifacts = {
      bucket_name = "cs-test-artifacts"
      bucket_arn  = "arn:aws:s3:::cs-test-artifacts"
      kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"
      prefix      = "../dw/"
    }
  }
  expect_failures = [var.artifacts]
}
