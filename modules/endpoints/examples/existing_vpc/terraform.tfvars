# The existing VPC the endpoints are added to: replace these with your VPC's IDs. The
# placeholders plan as they are (against the emulator in tests/plan/test_endpoints.py, or any
# account: nothing here is looked up); everything else has a default in main.tf.
vpc_id          = "vpc-0123456789abcdef0"
vpc_cidr        = "10.20.0.0/16"
route_table_ids = ["rtb-0123456789abcdef0", "rtb-0123456789abcdef1"]
subnet_ids      = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
bucket_arns     = ["arn:aws:s3:::clickstream-dev-raw", "arn:aws:s3:::clickstream-dev-artifacts"]
