# The host's key and alias now come from modules/internal/kms_key: the moves keep an applied
# key (and everything encrypted with it) in place. modules/warehouse and modules/oltp, whose
# own moved.tf predate this module, point their oldest addresses straight at the new ones.

moved {
  from = aws_kms_key.this[0]
  to   = module.key[0].aws_kms_key.this
}

moved {
  from = aws_kms_alias.this[0]
  to   = module.key[0].aws_kms_alias.this
}
