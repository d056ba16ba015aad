# Until the host module existed these resources were this module's own. The moves keep an
# applied warehouse's data volume, key, password and role in place: only the instance is
# replaced, as with any new bundle.

# The key and alias have since moved once more, into modules/internal/kms_key inside the host
# module: these two point straight at their current addresses, because a move into
# module.host.aws_kms_key.this would not chain with the host's own move of
# aws_kms_key.this[0] (a whole-resource address does not match an instance address).
moved {
  from = aws_kms_key.this
  to   = module.host.module.key[0].aws_kms_key.this
}

moved {
  from = aws_kms_alias.this
  to   = module.host.module.key[0].aws_kms_alias.this
}

moved {
  from = aws_ssm_parameter.password
  to   = module.host.aws_ssm_parameter.password
}

moved {
  from = aws_iam_role.this
  to   = module.host.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy_attachment.ssm_core
  to   = module.host.aws_iam_role_policy_attachment.ssm_core
}

moved {
  from = aws_iam_role_policy.host
  to   = module.host.aws_iam_role_policy.host
}

moved {
  from = aws_iam_instance_profile.this
  to   = module.host.aws_iam_instance_profile.this
}

moved {
  from = aws_security_group.this
  to   = module.host.aws_security_group.this
}

moved {
  from = aws_vpc_security_group_ingress_rule.postgres
  to   = module.host.aws_vpc_security_group_ingress_rule.postgres
}

moved {
  from = aws_vpc_security_group_egress_rule.s3
  to   = module.host.aws_vpc_security_group_egress_rule.s3
}

moved {
  from = aws_vpc_security_group_egress_rule.endpoints
  to   = module.host.aws_vpc_security_group_egress_rule.endpoints
}

moved {
  from = aws_instance.this
  to   = module.host.aws_instance.this
}

moved {
  from = aws_ebs_volume.data
  to   = module.host.aws_ebs_volume.data
}

moved {
  from = aws_volume_attachment.data
  to   = module.host.aws_volume_attachment.data
}
