# The log key now comes from modules/internal/kms_key: the moves keep an applied key (and the
# log group encrypted with it) in place.

moved {
  from = aws_kms_key.logs[0]
  to   = module.log_key[0].aws_kms_key.this
}

moved {
  from = aws_kms_alias.logs[0]
  to   = module.log_key[0].aws_kms_alias.this
}

# The function, its role, its log group, the ENI policy and the asynchronous-invocation settings
# now come from modules/internal/lambda_function: the moves keep an applied function, role and
# logs in place.

moved {
  from = aws_iam_role.this
  to   = module.function.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.vpc_enis
  to   = module.function.aws_iam_role_policy.vpc_enis[0]
}

moved {
  from = aws_cloudwatch_log_group.this
  to   = module.function.aws_cloudwatch_log_group.this
}

moved {
  from = aws_lambda_function.this
  to   = module.function.aws_lambda_function.this
}

moved {
  from = aws_lambda_function_event_invoke_config.this
  to   = module.function.aws_lambda_function_event_invoke_config.this[0]
}
