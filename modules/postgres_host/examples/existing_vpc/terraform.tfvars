# The existing VPC the host joins: replace these with your network's IDs (a private subnet
# without internet route, its zone, the S3 prefix list and the interface endpoints' security
# group of modules/endpoints). The placeholders plan as they are (tests/plan/test_postgres_host.py).
# `bundle` is not here: its hash changes with every build, so it is passed at plan time from
# `make host-bundle` (CONTRIBUTING.md, "Running a module example").
vpc_id                      = "vpc-0123456789abcdef0"
subnet_id                   = "subnet-0123456789abcdef0"
availability_zone           = "us-east-1a"
s3_prefix_list_id           = "pl-63a5400a"
endpoints_security_group_id = "sg-0123456789abcdef0"
