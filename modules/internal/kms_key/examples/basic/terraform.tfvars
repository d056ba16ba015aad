# 123456789012 is the emulator's account.
alias              = "clickstream-example-ingest"
key_administrators = ["arn:aws:iam::123456789012:root"]

key_users = [
  {
    sid        = "AccountPrincipalsUseTheKeyOnlyThroughS3"
    principals = ["arn:aws:iam::123456789012:root"]
    actions    = ["kms:Decrypt", "kms:GenerateDataKey"]
    conditions = [
      { test = "StringEquals", variable = "kms:ViaService", values = ["s3.us-east-1.amazonaws.com"] },
      { test = "StringEquals", variable = "kms:CallerAccount", values = ["123456789012"] },
    ]
  },
]

key_service_principals = [
  {
    sid      = "CloudWatchLogsEncryptsOneLogGroup"
    services = ["logs.us-east-1.amazonaws.com"]
    actions  = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]
    conditions = [
      { test = "ArnEquals", variable = "kms:EncryptionContext:aws:logs:arn", values = ["arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/clickstream-example"] },
    ]
  },
  {
    # Default actions (Decrypt, GenerateDataKey): what CloudWatch needs to publish to an
    # encrypted SNS topic.
    sid        = "CloudWatchAlarmsOfThisAccountPublish"
    services   = ["cloudwatch.amazonaws.com"]
    conditions = [{ test = "StringEquals", variable = "aws:SourceAccount", values = ["123456789012"] }]
  },
]
