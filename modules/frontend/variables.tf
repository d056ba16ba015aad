variable "name" {
  description = "Name prefix of every resource (the Amplify app and the Cognito user pool). Lowercase letters, digits and hyphens, 3-32 characters, starting with a letter."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "repository" {
  description = "HTTPS URL of the Git repository holding the Next.js shop (GitHub, GitLab, Bitbucket or CodeCommit)."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^https://[a-z0-9.-]+\\.[a-z]{2,}/[A-Za-z0-9._/-]+$", var.repository))
    error_message = "repository must be an https:// URL of a Git repository, e.g. https://github.com/acme/shop (no credentials in the URL)."
  }
}

variable "access_token_parameter_name" {
  description = "Name of the SSM SecureString holding the Git provider access token Amplify uses to install its webhook. Read with a data source at plan time; never passed as a variable value."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", var.access_token_parameter_name))
    error_message = "access_token_parameter_name must be an SSM parameter path such as /clickstream/dev/amplify/github-token (not the token itself)."
  }
  validation {
    condition     = !can(regex("^/?(ghp_|github_pat_|glpat-|gho_)", var.access_token_parameter_name))
    error_message = "access_token_parameter_name looks like a token: pass the name of the SSM parameter that holds it, not the token."
  }
}

variable "branch" {
  description = "Branch Amplify builds and serves: its name, stage and whether pushes build automatically."
  type = object({
    name        = optional(string, "main")
    stage       = optional(string, "PRODUCTION")
    auto_build  = optional(bool, true)
    performance = optional(bool, false)
  })
  default  = {}
  nullable = false
  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$", var.branch.name))
    error_message = "branch.name must be a Git branch name (letters, digits, . _ / -)."
  }
  validation {
    condition     = contains(["PRODUCTION", "BETA", "DEVELOPMENT", "EXPERIMENTAL", "PULL_REQUEST"], var.branch.stage)
    error_message = "branch.stage must be PRODUCTION, BETA, DEVELOPMENT, EXPERIMENTAL or PULL_REQUEST."
  }
}

variable "ingest_url" {
  description = "HTTPS base URL of the ingest HTTP API (ingest module output); the tracker posts to <ingest_url>/v1/events."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$", var.ingest_url))
    error_message = "ingest_url must be an https:// URL without query or fragment, e.g. https://abc123.execute-api.eu-central-1.amazonaws.com."
  }
}

variable "app_id" {
  description = "app_id the tracker sends with every batch (must be in the ingest Lambda's ALLOWED_APP_IDS)."
  type        = string
  default     = "shop-web"
  nullable    = false
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{0,63}$", var.app_id))
    error_message = "app_id must be 1-64 lowercase letters, digits, '_' or '-'."
  }
}

variable "environment_variables" {
  description = "Extra build/runtime environment variables of the app (no secrets: Amplify shows them in its console). Keys the module sets itself cannot be overridden."
  type        = map(string)
  default     = {}
  nullable    = false
  validation {
    condition     = alltrue([for k in keys(var.environment_variables) : can(regex("^[A-Z][A-Z0-9_]{0,99}$", k)) && !startswith(k, "AWS_")])
    error_message = "environment_variables keys must be UPPER_SNAKE_CASE and must not start with AWS_ (reserved by Amplify)."
  }
  validation {
    condition     = alltrue([for k in keys(var.environment_variables) : !can(regex("(SECRET|PASSWORD|TOKEN|PRIVATE_KEY)", k))])
    error_message = "environment_variables must not carry secrets (SECRET, PASSWORD, TOKEN, PRIVATE_KEY in a key): they are visible in the Amplify console and in state."
  }
}

variable "build_spec" {
  description = "amplify.yml build specification. Null uses the module's Next.js SSR spec (npm ci, next build, .next artifacts, node_modules/.next cache)."
  type        = string
  default     = null
}

variable "cognito" {
  description = <<-EOT
    Cognito user pool and app client of the shop. Passwords: at least 12 characters with every
    character class. MFA is OPTIONAL with TOTP apps. threat_protection is the advanced
    security mode (ENFORCED needs the PLUS tier; AUDIT/OFF where that tier is not bought).
    The app client has no secret (a browser app cannot keep one; the code flow uses PKCE) and
    allows only the authorization-code flow to the https callback URLs.
  EOT
  type = object({
    password_minimum_length = optional(number, 14)
    threat_protection       = optional(string, "ENFORCED")
    user_pool_tier          = optional(string, "PLUS")
    deletion_protection     = optional(bool, true)
    domain_prefix           = optional(string)
    callback_urls           = list(string)
    logout_urls             = optional(list(string), [])
    access_token_minutes    = optional(number, 60)
    id_token_minutes        = optional(number, 60)
    refresh_token_days      = optional(number, 30)
    temporary_password_days = optional(number, 3)
  })
  nullable = false
  validation {
    condition     = var.cognito.password_minimum_length >= 12 && var.cognito.password_minimum_length <= 99
    error_message = "cognito.password_minimum_length must be between 12 and 99."
  }
  validation {
    condition     = contains(["ENFORCED", "AUDIT", "OFF"], var.cognito.threat_protection) && contains(["LITE", "ESSENTIALS", "PLUS"], var.cognito.user_pool_tier)
    error_message = "cognito.threat_protection must be ENFORCED, AUDIT or OFF and cognito.user_pool_tier LITE, ESSENTIALS or PLUS."
  }
  validation {
    condition     = var.cognito.threat_protection == "OFF" || var.cognito.user_pool_tier == "PLUS"
    error_message = "cognito.threat_protection AUDIT or ENFORCED needs cognito.user_pool_tier = PLUS (set threat_protection = OFF on a cheaper tier)."
  }
  validation {
    condition = length(var.cognito.callback_urls) >= 1 && alltrue([
      for u in concat(var.cognito.callback_urls, var.cognito.logout_urls) :
      can(regex("^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$", u))
    ])
    error_message = "cognito.callback_urls (at least one) and logout_urls must be https:// URLs without query, fragment or wildcard."
  }
  validation {
    condition     = var.cognito.domain_prefix == null || can(regex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", var.cognito.domain_prefix)) && !can(regex("(aws|amazon|cognito)", coalesce(var.cognito.domain_prefix, "x")))
    error_message = "cognito.domain_prefix must be null or 1-63 lowercase letters, digits and hyphens, without aws, amazon or cognito in it."
  }
  validation {
    condition = (
      var.cognito.access_token_minutes >= 5 && var.cognito.access_token_minutes <= 1440
      && var.cognito.id_token_minutes >= 5 && var.cognito.id_token_minutes <= 1440
      && var.cognito.refresh_token_days >= 1 && var.cognito.refresh_token_days <= 3650
      && var.cognito.temporary_password_days >= 1 && var.cognito.temporary_password_days <= 7
    )
    error_message = "cognito token validities: access and id tokens 5-1440 minutes, refresh tokens 1-3650 days, temporary passwords 1-7 days."
  }
}

variable "email" {
  description = <<-EOT
    How Cognito sends its e-mails (verification codes, password resets, invitations).
    `source_arn` is a verified Amazon SES identity (arn:aws:ses:<region>:<account>:identity/<address
    or domain>): Cognito then sends through your SES account (email_sending_account DEVELOPER,
    SES's quotas and deliverability) from `from` ("Shop <no-reply@shop.example.com>" or a bare
    address of that identity). Without it (the default) Cognito's own sender is used
    (COGNITO_DEFAULT): no-reply@verificationemail.com and a limit of 50 e-mails a day per
    account, enough for a test shop and not for a real one. `reply_to` works in both modes.
  EOT
  type = object({
    source_arn = optional(string)
    from       = optional(string)
    reply_to   = optional(string)
  })
  default  = {}
  nullable = false
  validation {
    condition     = var.email.source_arn == null || can(regex("^arn:aws[a-z-]*:ses:[a-z0-9-]+:[0-9]{12}:identity/[^/\\s]+$", var.email.source_arn))
    error_message = "email.source_arn must be null (Cognito's own sender) or the ARN of a verified SES identity, arn:aws:ses:<region>:<account>:identity/<address or domain>."
  }
  validation {
    condition     = var.email.from == null || var.email.source_arn != null
    error_message = "email.from needs email.source_arn: a custom From address must belong to a verified SES identity (Cognito's default sender always sends from no-reply@verificationemail.com)."
  }
  validation {
    # A bare address, or a display name with the address in angle brackets.
    condition     = var.email.from == null || can(regex("^([^<>@]+ <[^<>@\\s]+@[^<>@\\s]+\\.[^<>@\\s]+>|[^<>@\\s]+@[^<>@\\s]+\\.[^<>@\\s]+)$", coalesce(var.email.from, "x")))
    error_message = "email.from must be an e-mail address (no-reply@shop.example.com) or a name with the address in angle brackets (Shop <no-reply@shop.example.com>)."
  }
  validation {
    condition     = var.email.reply_to == null || can(regex("^[^<>@\\s]+@[^<>@\\s]+\\.[^<>@\\s]+$", coalesce(var.email.reply_to, "x")))
    error_message = "email.reply_to must be null or an e-mail address such as support@shop.example.com."
  }
}

variable "tags" {
  description = "Tags merged into every taggable resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
