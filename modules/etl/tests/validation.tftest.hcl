# Validation of the etl module's warehouse TLS inputs and its reservation, planned against a
# mocked provider (no AWS; the module has no ephemeral resource). The example derives the CA
# parameter's ARN from its name, so the pairing rules can only be broken here. Driven by
# tests/plan/test_etl.py.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-central-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  name         = "cs-test"
  package_path = "etl.zip"
  package_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  vpc = {
    vpc_id                      = "vpc-0123456789abcdef0"
    subnet_ids                  = ["subnet-0123456789abcdef0"]
    s3_prefix_list_id           = "pl-6ea54007"
    endpoints_security_group_id = "sg-0123456789abcdef0"
  }
  warehouse = {
    security_group_id      = "sg-0a1b2c3d4e5f60718"
    host                   = "10.0.1.5"
    password_parameter_arn = "arn:aws:ssm:eu-central-1:123456789012:parameter/cs-test/dw/etl-password"
    password_kms_key_arn   = "arn:aws:kms:eu-central-1:123456789012:key/1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6"
  }
  raw = {
    bucket_name = "cs-test-raw-123456789012"
    kms_key_arn = "arn:aws:kms:eu-central-1:123456789012:key/0d9b7f5e-3c1a-4e8b-9f2d-6a5c4b3e2d10"
  }
}

run "no_ca_no_reservation_by_default" {
  command = plan
  assert {
    condition     = local.environment.DW_SSLMODE == "prefer" && !contains(keys(local.environment), "DW_CA_PARAM")
    error_message = "without a CA the function keeps sslmode prefer and gets no DW_CA_PARAM"
  }
  assert {
    # The reservation itself is planned by tests/plan/test_etl.py (inventory: -1, none) and
    # modules/internal/lambda_function passes null through.
    condition     = length(aws_iam_role_policy.warehouse_ca) == 0 && var.lambda.reserved_concurrency == null
    error_message = "no CA permission without a CA, and no reservation by default"
  }
}

run "ca_given_verifies_the_server" {
  command = plan
  variables {
    warehouse = {
      security_group_id      = "sg-0a1b2c3d4e5f60718"
      host                   = "10.0.1.5"
      password_parameter_arn = "arn:aws:ssm:eu-central-1:123456789012:parameter/cs-test/dw/etl-password"
      password_kms_key_arn   = "arn:aws:kms:eu-central-1:123456789012:key/1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6"
      ca_parameter_name      = "/cs-test/dw/ca-certificate"
      ca_parameter_arn       = "arn:aws:ssm:eu-central-1:123456789012:parameter/cs-test/dw/ca-certificate"
    }
  }
  assert {
    condition     = local.environment.DW_SSLMODE == "verify-full" && local.environment.DW_CA_PARAM == "/cs-test/dw/ca-certificate"
    error_message = "a CA must make the function verify the server (verify-full, DW_CA_PARAM)"
  }
  assert {
    condition     = length(aws_iam_role_policy.warehouse_ca) == 1
    error_message = "the role must get the CA policy"
  }
}

run "ca_name_without_arn_refused" {
  command = plan
  variables {
    warehouse = {
      security_group_id      = "sg-0a1b2c3d4e5f60718"
      host                   = "10.0.1.5"
      password_parameter_arn = "arn:aws:ssm:eu-central-1:123456789012:parameter/cs-test/dw/etl-password"
      password_kms_key_arn   = "arn:aws:kms:eu-central-1:123456789012:key/1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6"
      ca_parameter_name      = "/cs-test/dw/ca-certificate"
    }
  }
  expect_failures = [var.warehouse]
}

run "ca_arn_of_another_parameter_refused" {
  command = plan
  variables {
    warehouse = {
      security_group_id      = "sg-0a1b2c3d4e5f60718"
      host                   = "10.0.1.5"
      password_parameter_arn = "arn:aws:ssm:eu-central-1:123456789012:parameter/cs-test/dw/etl-password"
      password_kms_key_arn   = "arn:aws:kms:eu-central-1:123456789012:key/1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6"
      ca_parameter_name      = "/cs-test/dw/ca-certificate"
      ca_parameter_arn       = "arn:aws:ssm:eu-central-1:123456789012:parameter/cs-test/dw/etl-password"
    }
  }
  expect_failures = [var.warehouse]
}

run "zero_reservation_refused" {
  command = plan
  variables { lambda = { reserved_concurrency = 0 } }
  expect_failures = [var.lambda]
}

run "fractional_reservation_refused" {
  command = plan
  variables { lambda = { reserved_concurrency = 1.5 } }
  expect_failures = [var.lambda]
}
