# The whole platform as one composition: network and endpoints, ingest, ETL, the warehouse
# and OLTP hosts with their artifacts bucket, the front end (optional) and the alarms. The
# roots (envs/aws for dev and prod, envs/local for the emulator) call it once; what differs
# between envs is in their terraform.tfvars and, for the emulator, `emulator = true`. One file per concern:
#   network.tf  VPC, subnets, flow logs, VPC endpoints
#   ingest.tf   HTTP API, ingest Lambda, raw bucket
#   etl.tf      scheduled ETL Lambda
#   hosts.tf    artifacts bucket (bundles, dumps), warehouse and OLTP hosts
#   frontend.tf Amplify app and Cognito user pool
#   alarms.tf   alarm topic, its key, host status alarms

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  repo       = coalesce(var.repo_root, abspath("${path.module}/../.."))
  build      = "${local.repo}/build/lambda"

  # Each zip's hash sits beside it (`make build` writes <fn>.zip.b64sha256) unless given.
  packages = {
    for fn, p in var.packages : fn => {
      path = coalesce(p.path, "${local.build}/${fn}.zip")
      hash = p.hash != null ? p.hash : trimspace(file("${coalesce(p.path, "${local.build}/${fn}.zip")}.b64sha256"))
    }
  }

  # Both database hosts run in the first zone: the subnet and the zone come from one key.
  host_zone = var.network.availability_zones[0]

  alarm_actions = var.alarms.enabled ? [aws_sns_topic.alarms[0].arn] : []
}
