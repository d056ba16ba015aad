# Input validation and secure defaults of the frontend module, planned against a mocked
# provider (no AWS: the module has no ephemeral resource, so mocking works). Driven by
# tests/plan/test_frontend.py.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-central-1" }
  }
  mock_data "aws_ssm_parameter" {
    defaults = { value = "mock-token" }
  }
}

variables {
  name                        = "cs-test"
  repository                  = "https://github.com/example/shop"
  access_token_parameter_name = "/cs-test/amplify/git-token"
  ingest_url                  = "https://abc.execute-api.eu-central-1.amazonaws.com/"
  cognito                     = { callback_urls = ["https://shop.example.com/auth/callback"] }
}

run "secure_defaults" {
  command = plan
  assert {
    condition     = aws_cognito_user_pool.this.deletion_protection == "ACTIVE" && aws_cognito_user_pool.this.mfa_configuration == "OPTIONAL"
    error_message = "deletion protection must default on and MFA be optional"
  }
  assert {
    condition     = aws_cognito_user_pool.this.user_pool_add_ons[0].advanced_security_mode == "ENFORCED"
    error_message = "threat protection must default to ENFORCED"
  }
  assert {
    condition     = local.environment.NEXT_PUBLIC_INGEST_URL == "https://abc.execute-api.eu-central-1.amazonaws.com/v1/events"
    error_message = "the ingest URL must be normalised to <base>/v1/events"
  }
  assert {
    condition     = alltrue([for k in ["NEXT_PUBLIC_APP_ID", "NEXT_PUBLIC_AWS_REGION", "NEXT_PUBLIC_COGNITO_USER_POOL_ID", "NEXT_PUBLIC_COGNITO_CLIENT_ID"] : contains(keys(local.environment), k)])
    error_message = "the app must get the app id, region and Cognito ids"
  }
  assert {
    condition     = aws_cognito_user_pool_client.this.generate_secret == false && aws_amplify_app.this.platform == "WEB_COMPUTE"
    error_message = "public client without secret, SSR platform"
  }
}

run "module_keys_cannot_be_overridden" {
  command = plan
  variables { environment_variables = { NEXT_PUBLIC_INGEST_URL = "https://evil.example/collect" } }
  assert {
    condition     = local.environment.NEXT_PUBLIC_INGEST_URL == "https://abc.execute-api.eu-central-1.amazonaws.com/v1/events"
    error_message = "a user variable must not redirect the tracker"
  }
}

run "plain_http_callback_refused" {
  command = plan
  variables { cognito = { callback_urls = ["http://shop.example.com/cb"] } }
  expect_failures = [var.cognito]
}

run "open_redirect_callback_refused" {
  command = plan
  variables { cognito = { callback_urls = ["https://shop.example.com/cb?next=https://evil.example"] } }
  expect_failures = [var.cognito]
}

run "short_password_refused" {
  command = plan
  variables { cognito = { callback_urls = ["https://shop.example.com/cb"], password_minimum_length = 8 } }
  expect_failures = [var.cognito]
}

run "threat_protection_without_plus_refused" {
  command = plan
  variables { cognito = { callback_urls = ["https://shop.example.com/cb"], user_pool_tier = "ESSENTIALS" } }
  expect_failures = [var.cognito]
}

run "token_instead_of_parameter_name_refused" {
  command = plan
  variables { access_token_parameter_name = "ghp_0123456789abcdef0123456789abcdef0123" }
  expect_failures = [var.access_token_parameter_name]
}

run "secret_in_environment_refused" {
  command = plan
  variables { environment_variables = { STRIPE_SECRET_KEY = "sk_live_x" } }
  expect_failures = [var.environment_variables]
}

run "plain_http_ingest_refused" {
  command = plan
  variables { ingest_url = "http://abc.execute-api.eu-central-1.amazonaws.com" }
  expect_failures = [var.ingest_url]
}

run "credentials_in_repository_url_refused" {
  command = plan
  variables { repository = "https://user:pass@github.com/example/shop" }
  expect_failures = [var.repository]
}

run "cognito_default_sender_without_ses" {
  command = plan
  assert {
    condition     = aws_cognito_user_pool.this.email_configuration[0].email_sending_account == "COGNITO_DEFAULT" && aws_cognito_user_pool.this.email_configuration[0].source_arn == null
    error_message = "without an SES identity Cognito's default sender (50 e-mails a day) must be used"
  }
}

run "ses_identity_switches_to_developer" {
  command = plan
  variables {
    email = {
      source_arn = "arn:aws:ses:eu-central-1:123456789012:identity/shop.example.com"
      from       = "ByteMart <no-reply@shop.example.com>"
      reply_to   = "support@shop.example.com"
    }
  }
  assert {
    condition     = aws_cognito_user_pool.this.email_configuration[0].email_sending_account == "DEVELOPER"
    error_message = "an SES identity must make Cognito send through SES (DEVELOPER)"
  }
  assert {
    condition     = aws_cognito_user_pool.this.email_configuration[0].from_email_address == "ByteMart <no-reply@shop.example.com>" && aws_cognito_user_pool.this.email_configuration[0].reply_to_email_address == "support@shop.example.com"
    error_message = "from and reply_to must reach the user pool"
  }
}

run "from_without_ses_identity_refused" {
  command = plan
  variables { email = { from = "no-reply@shop.example.com" } }
  expect_failures = [var.email]
}

run "ses_arn_of_another_service_refused" {
  command = plan
  variables { email = { source_arn = "arn:aws:sns:eu-central-1:123456789012:topic" } }
  expect_failures = [var.email]
}

run "malformed_reply_to_refused" {
  command = plan
  variables { email = { reply_to = "support at shop" } }
  expect_failures = [var.email]
}
