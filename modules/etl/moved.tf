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
