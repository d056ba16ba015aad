output "app_id" {
  description = "ID of the Amplify app."
  value       = aws_amplify_app.this.id
}

output "default_domain" {
  description = "Amplify's default domain; the branch is served at https://<branch>.<default_domain> through the CloudFront distribution Amplify manages."
  value       = aws_amplify_app.this.default_domain
}

output "branch_url" {
  description = "HTTPS URL of the served branch."
  value       = "https://${replace(aws_amplify_branch.this.branch_name, "/", "-")}.${aws_amplify_app.this.default_domain}"
}

output "user_pool_id" {
  description = "ID of the Cognito user pool."
  value       = aws_cognito_user_pool.this.id
}

output "user_pool_arn" {
  description = "ARN of the Cognito user pool."
  value       = aws_cognito_user_pool.this.arn
}

output "user_pool_client_id" {
  description = "ID of the public (secret-less) app client."
  value       = aws_cognito_user_pool_client.this.id
}

output "hosted_ui_domain" {
  description = "Domain of the Cognito hosted UI, null when no domain_prefix is set."
  value       = var.cognito.domain_prefix == null ? null : "${var.cognito.domain_prefix}.auth.${local.region}.amazoncognito.com"
}

output "environment_variables" {
  description = "Environment variables set on the app (no secrets in them)."
  value       = local.environment
}
