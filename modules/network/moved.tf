# The flow log key now comes from modules/internal/kms_key: the moves keep an applied key (and
# the log group encrypted with it) in place.

moved {
  from = aws_kms_key.flow_logs[0]
  to   = module.flow_logs_key[0].aws_kms_key.this
}

moved {
  from = aws_kms_alias.flow_logs[0]
  to   = module.flow_logs_key[0].aws_kms_alias.this
}
