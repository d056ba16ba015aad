# The shop's front end: Amplify Hosting (Next.js SSR) + Cognito. PLAN-ONLY against the
# emulator: moto has no Amplify API, so this example is planned (the Git token parameter is
# created in the emulator by the test first), never applied there.
terraform {
  required_version = ">= 1.11.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100.0, < 6.0.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "name" {
  description = "Name prefix passed to the module."
  type        = string
  default     = "clickstream-ex"
}

variable "region" {
  description = "Region of the provider."
  type        = string
  default     = "us-east-1"
}

variable "access_token_parameter_name" {
  description = "SSM parameter holding the Git token (created beforehand, e.g. with aws ssm put-parameter --type SecureString)."
  type        = string
  default     = "/clickstream-ex/amplify/git-token"
}

variable "cognito" {
  description = "Cognito settings passed to the module (see the module's variable)."
  type        = any
  default = {
    callback_urls       = ["https://main.example.amplifyapp.com/auth/callback"]
    logout_urls         = ["https://main.example.amplifyapp.com/"]
    domain_prefix       = "clickstream-ex-shop"
    deletion_protection = false
  }
}

module "frontend" {
  source                      = "../.."
  name                        = var.name
  repository                  = "https://github.com/example/clickstream-shop"
  access_token_parameter_name = var.access_token_parameter_name
  ingest_url                  = "https://abc123.execute-api.us-east-1.amazonaws.com"
  cognito                     = var.cognito
  environment_variables       = { NEXT_PUBLIC_CURRENCY = "EUR" }
  tags                        = { Project = "clickstream", Environment = "example" }
}

output "frontend" {
  description = "Every output of the frontend module."
  value       = module.frontend
  sensitive   = false
}
