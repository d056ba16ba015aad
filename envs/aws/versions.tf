terraform {
  required_version = ">= 1.11.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100.0, < 6.0.0"
    }
  }

  # Partial configuration: each env's envs/<env>/backend.hcl (from its backend.hcl.example),
  # initialised into the env's own TF_DATA_DIR (envs/<env>/.terraform) by `make plan ENV=<env>`.
  # use_lockfile takes the state lock with an S3 conditional write: no DynamoDB table needed.
  backend "s3" {
    use_lockfile = true
    encrypt      = true
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { Project = "clickstream", Environment = var.environment, ManagedBy = "terraform" }
  }
}
