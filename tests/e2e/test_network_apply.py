"""Apply network + endpoints to the emulator, read everything back with boto3, destroy.

One apply for the whole file (it is the slow part); every test reads the same deployment.
What the plan tests could only infer from references is checked here on real ids: the S3
Gateway endpoint is attached to exactly the private and data route tables, no private table
routes 0.0.0.0/0, and nothing in the VPC is a NAT Gateway.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from clickstream import REPO_ROOT
from clickstream.emulator import Emulator
from clickstream.terraform import Terraform

pytestmark = pytest.mark.e2e

ROOT = REPO_ROOT / "modules" / "endpoints" / "examples" / "private_network"
VARIABLES = {"name": "e2e-net", "vpc_cidr": "10.50.0.0/16"}


@pytest.fixture(scope="module")
def ec2(emulator: Emulator) -> Any:
    return boto3.client("ec2", endpoint_url=emulator.endpoint_url)


@pytest.fixture(scope="module")
def deployed(emulator: Emulator, ec2: Any) -> Iterator[dict]:
    """Apply once, yield the outputs, destroy and prove the VPC is gone."""
    with Terraform(ROOT, emulator_env=emulator.env) as tf:
        try:
            yield tf.apply(VARIABLES)
        finally:
            vpc_id = (tf.outputs().get("network") or {}).get("vpc_id")
            tf.destroy(VARIABLES)
            if vpc_id:
                left = ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
                assert left["Vpcs"] == [], f"{vpc_id} survived terraform destroy"


def test_s3_gateway_endpoint_route_tables_read_back(deployed: dict, ec2: Any) -> None:
    net, ep = deployed["network"], deployed["endpoints"]
    (vpce,) = ec2.describe_vpc_endpoints(VpcEndpointIds=[ep["s3_endpoint_id"]])["VpcEndpoints"]
    assert vpce["VpcEndpointType"] == "Gateway"
    assert vpce["ServiceName"] == "com.amazonaws.us-east-1.s3"
    assert vpce["VpcId"] == net["vpc_id"]
    expected = set(net["private_route_table_ids"]) | set(net["data_route_table_ids"])
    assert len(expected) == 4
    assert set(vpce["RouteTableIds"]) == expected
    assert net["public_route_table_id"] not in vpce["RouteTableIds"]


def test_s3_endpoint_policy_read_back(deployed: dict, ec2: Any) -> None:
    ep = deployed["endpoints"]
    (vpce,) = ec2.describe_vpc_endpoints(VpcEndpointIds=[ep["s3_endpoint_id"]])["VpcEndpoints"]
    policy = json.loads(vpce["PolicyDocument"])
    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    assert resources == {
        "arn:aws:s3:::clickstream-dev-raw",
        "arn:aws:s3:::clickstream-dev-raw/*",
        "arn:aws:s3:::clickstream-dev-artifacts",
        "arn:aws:s3:::clickstream-dev-artifacts/*",
        "arn:aws:s3:::al2023-repos-us-east-1-de612dc2/*",
        # the SSM agent's own buckets in the region (updates, patching, documents)
        *(f"arn:aws:s3:::{b}/*" for b in (
            "aws-ssm-us-east-1", "amazon-ssm-us-east-1", "amazon-ssm-packages-us-east-1",
            "us-east-1-birdwatcher-prod", "aws-ssm-distributor-file-us-east-1",
            "aws-ssm-document-attachments-us-east-1", "patch-baseline-snapshot-us-east-1")),
    }


def test_ssm_interface_endpoints_read_back(deployed: dict, ec2: Any) -> None:
    net, ep = deployed["network"], deployed["endpoints"]
    ids = ep["interface_endpoint_ids"]
    assert set(ids) == {"ssm", "ssmmessages", "ec2messages", "logs"}
    found = ec2.describe_vpc_endpoints(VpcEndpointIds=list(ids.values()))["VpcEndpoints"]
    assert len(found) == 4
    for e in found:
        assert e["VpcEndpointType"] == "Interface", e["ServiceName"]
        assert e["PrivateDnsEnabled"] is True, e["ServiceName"]
        assert set(e["SubnetIds"]) == set(net["private_subnet_ids"]), e["ServiceName"]
        assert [g["GroupId"] for g in e["Groups"]] == [ep["security_group_id"]]


def test_endpoint_security_group_rules_read_back(deployed: dict, ec2: Any) -> None:
    sg_id = deployed["endpoints"]["security_group_id"]
    (sg,) = ec2.describe_security_groups(GroupIds=[sg_id])["SecurityGroups"]
    ingress = [
        (p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), r["CidrIp"])
        for p in sg["IpPermissions"]
        for r in p.get("IpRanges", [])
    ]
    assert ingress == [("tcp", 443, 443, "10.50.0.0/16")]
    assert all(not p.get("UserIdGroupPairs") and not p.get("Ipv6Ranges") for p in sg["IpPermissions"])
    assert sg["IpPermissionsEgress"] == []


def test_private_route_tables_have_no_default_route(deployed: dict, ec2: Any) -> None:
    net = deployed["network"]
    isolated = net["private_route_table_ids"] + net["data_route_table_ids"]
    tables = ec2.describe_route_tables(RouteTableIds=isolated)["RouteTables"]
    assert len(tables) == 4
    for t in tables:
        destinations = {r.get("DestinationCidrBlock") for r in t["Routes"]}
        assert "0.0.0.0/0" not in destinations, t["RouteTableId"]
        assert not [r for r in t["Routes"] if r.get("NatGatewayId") or r.get("GatewayId", "").startswith("igw-")]
    (public,) = ec2.describe_route_tables(RouteTableIds=[net["public_route_table_id"]])["RouteTables"]
    default = [r for r in public["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    assert [r["GatewayId"] for r in default] == [net["internet_gateway_id"]]


def test_no_nat_gateway_and_no_public_ip_mapping(deployed: dict, ec2: Any) -> None:
    net = deployed["network"]
    vpc_filter = [{"Name": "vpc-id", "Values": [net["vpc_id"]]}]
    assert ec2.describe_nat_gateways(Filters=vpc_filter)["NatGateways"] == []
    subnets = ec2.describe_subnets(Filters=vpc_filter)["Subnets"]
    assert len(subnets) == 6
    assert [s["SubnetId"] for s in subnets if s["MapPublicIpOnLaunch"]] == []


def test_default_security_group_is_closed(deployed: dict, ec2: Any) -> None:
    sg_id = deployed["network"]["default_security_group_id"]
    (sg,) = ec2.describe_security_groups(GroupIds=[sg_id])["SecurityGroups"]
    assert sg["GroupName"] == "default"
    assert sg["IpPermissions"] == [] and sg["IpPermissionsEgress"] == []


def test_flow_logs_reach_an_encrypted_log_group_with_retention(
    deployed: dict, ec2: Any, emulator: Emulator
) -> None:
    net = deployed["network"]
    (flow,) = ec2.describe_flow_logs(FlowLogIds=[net["flow_log_id"]])["FlowLogs"]
    assert flow["ResourceId"] == net["vpc_id"]
    assert flow["TrafficType"] == "ALL"
    # AWS returns both LogGroupName and LogDestination; moto only the destination ARN.
    group_name = flow.get("LogGroupName") or flow["LogDestination"].split(":log-group:", 1)[1]
    assert group_name.rstrip(":*") == net["flow_log_group_name"]
    assert flow.get("LogDestinationType", "cloud-watch-logs") == "cloud-watch-logs"
    assert ":role/e2e-net-flow-logs-" in flow["DeliverLogsPermissionArn"]
    logs = boto3.client("logs", endpoint_url=emulator.endpoint_url)
    groups = logs.describe_log_groups(logGroupNamePrefix=net["flow_log_group_name"])["logGroups"]
    (group,) = [g for g in groups if g["logGroupName"] == net["flow_log_group_name"]]
    assert group["retentionInDays"] == 365
    assert group["kmsKeyId"] == net["flow_log_kms_key_arn"]
