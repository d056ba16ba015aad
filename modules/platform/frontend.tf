# The shop's front end, when there is one: the Amplify app serving the shop (built from its
# Git repository, posting to the ingest API) and the Cognito user pool of its customers.

module "frontend" {
  source                      = "../frontend"
  count                       = var.frontend == null ? 0 : 1
  name                        = var.name
  repository                  = var.frontend.repository
  access_token_parameter_name = var.frontend.access_token_parameter_name
  branch                      = { name = var.frontend.branch }
  ingest_url                  = module.ingest.api_endpoint
  app_id                      = var.allowed_app_ids[0]
  email                       = var.frontend.email
  cognito = {
    callback_urls       = var.frontend.callback_urls
    logout_urls         = var.frontend.logout_urls
    domain_prefix       = var.frontend.domain_prefix
    threat_protection   = var.frontend.threat_protection
    user_pool_tier      = var.frontend.user_pool_tier
    deletion_protection = var.deletion_protection
  }
}
