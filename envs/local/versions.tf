terraform {
  required_version = ">= 1.11.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100.0, < 6.0.0"
    }
  }
}

# The harness (clickstream.terraform) overrides this block with the emulator's fake
# credentials and path-style S3; the endpoint comes from AWS_ENDPOINT_URL.
provider "aws" {
  region = var.region
  default_tags {
    tags = { Project = "clickstream", Environment = "local", ManagedBy = "terraform" }
  }
}
