data "aws_region" "current" {}

# The Git token is read from SSM at plan time. aws_amplify_app.access_token is not a
# write-only argument, so the token is stored (marked sensitive) in state: keep the state
# bucket encrypted and restricted, and use a fine-grained token scoped to the one repository.
data "aws_ssm_parameter" "access_token" {
  name            = var.access_token_parameter_name
  with_decryption = true
}

locals {
  region = data.aws_region.current.name
  # Keys the module owns; user-supplied variables cannot shadow them (merge order).
  environment = merge(var.environment_variables, {
    NEXT_PUBLIC_INGEST_URL           = "${trimsuffix(var.ingest_url, "/")}/v1/events"
    NEXT_PUBLIC_APP_ID               = var.app_id
    NEXT_PUBLIC_AWS_REGION           = local.region
    NEXT_PUBLIC_COGNITO_USER_POOL_ID = aws_cognito_user_pool.this.id
    NEXT_PUBLIC_COGNITO_CLIENT_ID    = aws_cognito_user_pool_client.this.id
    NEXT_PUBLIC_COGNITO_DOMAIN       = var.cognito.domain_prefix == null ? "" : "${var.cognito.domain_prefix}.auth.${local.region}.amazoncognito.com"
  })
}

# -- Cognito: the shop's customers -----------------------------------------------------------------

resource "aws_cognito_user_pool" "this" {
  name                     = "${var.name}-shop"
  deletion_protection      = var.cognito.deletion_protection ? "ACTIVE" : "INACTIVE"
  user_pool_tier           = var.cognito.user_pool_tier
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]
  mfa_configuration        = "OPTIONAL"

  software_token_mfa_configuration {
    enabled = true
  }

  password_policy {
    minimum_length                   = var.cognito.password_minimum_length
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = var.cognito.temporary_password_days
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  user_pool_add_ons {
    advanced_security_mode = var.cognito.threat_protection
  }

  username_configuration {
    case_sensitive = false
  }

  admin_create_user_config {
    allow_admin_create_user_only = false
  }

  # COGNITO_DEFAULT sends at most 50 e-mails a day per account; a verified SES identity
  # (var.email.source_arn) switches to DEVELOPER, i.e. SES's quotas (README, "E-mail").
  email_configuration {
    email_sending_account  = var.email.source_arn == null ? "COGNITO_DEFAULT" : "DEVELOPER"
    source_arn             = var.email.source_arn
    from_email_address     = var.email.from
    reply_to_email_address = var.email.reply_to
  }

  tags = merge(var.tags, { Name = "${var.name}-shop" })
}

resource "aws_cognito_user_pool_domain" "this" {
  count        = var.cognito.domain_prefix == null ? 0 : 1
  domain       = var.cognito.domain_prefix
  user_pool_id = aws_cognito_user_pool.this.id
}

resource "aws_cognito_user_pool_client" "this" {
  name         = "${var.name}-shop-web"
  user_pool_id = aws_cognito_user_pool.this.id

  # A browser cannot keep a client secret; the authorization-code flow is protected by PKCE.
  generate_secret                      = false
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email", "profile"]
  supported_identity_providers         = ["COGNITO"]
  callback_urls                        = var.cognito.callback_urls
  logout_urls                          = var.cognito.logout_urls
  explicit_auth_flows                  = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors        = "ENABLED"
  enable_token_revocation              = true

  access_token_validity  = var.cognito.access_token_minutes
  id_token_validity      = var.cognito.id_token_minutes
  refresh_token_validity = var.cognito.refresh_token_days
  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "days"
  }
}

# -- Amplify Hosting: Next.js SSR behind the CloudFront distribution Amplify manages ----------------

resource "aws_amplify_app" "this" {
  name         = var.name
  description  = "Clickstream demo shop (Next.js SSR)"
  repository   = var.repository
  access_token = data.aws_ssm_parameter.access_token.value
  platform     = "WEB_COMPUTE"
  build_spec   = coalesce(var.build_spec, file("${path.module}/templates/amplify.yml"))

  environment_variables = local.environment

  enable_branch_auto_build    = var.branch.auto_build
  enable_branch_auto_deletion = false
  enable_basic_auth           = false

  # Security headers on every response CloudFront serves for the app.
  custom_headers = <<-EOT
    customHeaders:
      - pattern: "**"
        headers:
          - key: Strict-Transport-Security
            value: max-age=31536000; includeSubDomains
          - key: X-Content-Type-Options
            value: nosniff
          - key: X-Frame-Options
            value: DENY
          - key: Referrer-Policy
            value: strict-origin-when-cross-origin
  EOT

  tags = var.tags
}

resource "aws_amplify_branch" "this" {
  app_id                  = aws_amplify_app.this.id
  branch_name             = var.branch.name
  stage                   = var.branch.stage
  framework               = "Next.js - SSR"
  enable_auto_build       = var.branch.auto_build
  enable_performance_mode = var.branch.performance
  tags                    = var.tags
}
