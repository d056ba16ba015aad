# A small platform in eu-west-1: bigger warehouse than the default, two weeks of dumps,
# alarms to an on-call address, no front end. Logs keep the platform's year.
region             = "eu-west-1"
name               = "clickstream-example"
availability_zones = ["eu-west-1a", "eu-west-1b"]
shop_origins       = ["https://shop.example.com"]

sizes = {
  warehouse_instance_type = "m6i.large"
  warehouse_data_gib      = 100
}

retention = { backup_days = 14 }
alarms    = { enabled = true, email = "oncall@example.com" }
