"""Plan tests of modules/endpoints: S3 through a Gateway endpoint, Session Manager through
interface endpoints, and nothing that needs a NAT Gateway.

Two roots: ``private_network`` composes network + endpoints as the platform does (IDs are
unknown at plan time, so attachment is proven through the configuration's references and the
output's length), and ``existing_vpc`` takes literal IDs so the planned values themselves show
which route tables and subnets the endpoints use.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from clickstream import REPO_ROOT
from clickstream.emulator import Emulator
from clickstream.terraform import Terraform
from clickstream.testing.plan import assert_inventory, resources_by_address, resources_of_type, validation_errors

pytestmark = pytest.mark.plan

INVENTORIES = Path(__file__).parent / "inventories"
EXAMPLES = REPO_ROOT / "modules" / "endpoints" / "examples"
SSM_SERVICES = {"ssm", "ssmmessages", "ec2messages"}

EXISTING_VPC = {
    "region": "eu-central-1",
    "vpc_id": "vpc-0123456789abcdef0",
    "vpc_cidr": "10.30.0.0/16",
    "route_table_ids": ["rtb-0123456789abcdef0", "rtb-0123456789abcdef1", "rtb-0123456789abcdef2"],
    "subnet_ids": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
    "bucket_arns": ["arn:aws:s3:::acme-clickstream-raw", "arn:aws:s3:::acme-clickstream-artifacts"],
    "interface_endpoints": ["kms", "secretsmanager"],
}


@pytest.fixture(scope="module")
def composed_plan(emulator: Emulator) -> dict:
    with Terraform(EXAMPLES / "private_network", emulator_env=emulator.env) as tf:
        return tf.plan()


@pytest.fixture(scope="module")
def existing_root(emulator: Emulator) -> Iterator[Terraform]:
    """One initialised copy shared by the literal-ID plan and the validation batches."""
    with Terraform(EXAMPLES / "existing_vpc", emulator_env=emulator.env) as tf:
        yield tf


@pytest.fixture(scope="module")
def existing_plan(existing_root: Terraform) -> dict:
    return existing_root.plan(EXISTING_VPC)


# -- composed with the network module -----------------------------------------------------------


def test_composed_plan_matches_inventory(composed_plan: dict) -> None:
    assert_inventory(composed_plan, INVENTORIES / "endpoints_private_network.yaml")


def test_s3_gateway_endpoint_is_on_every_isolated_route_table(composed_plan: dict) -> None:
    """The endpoint takes the network's isolated tables, and those are all private + data ones."""
    calls = composed_plan["configuration"]["root_module"]["module_calls"]
    refs = calls["endpoints"]["expressions"]["route_table_ids"]["references"]
    assert "module.network.isolated_route_table_ids" in refs
    out_refs = calls["network"]["module"]["outputs"]["isolated_route_table_ids"]["expression"][
        "references"
    ]
    assert "aws_route_table.private" in out_refs and "aws_route_table.data" in out_refs
    planned = composed_plan["output_changes"]["network"]["after"]
    isolated_tables = [
        r
        for r in resources_of_type(composed_plan, "aws_route_table")
        if r["tags"]["Tier"] in ("private", "data")
    ]
    assert len(planned["isolated_route_table_ids"]) == len(isolated_tables) == 4


def test_interface_endpoints_sit_in_the_private_subnets(composed_plan: dict) -> None:
    calls = composed_plan["configuration"]["root_module"]["module_calls"]
    assert "module.network.private_subnet_ids" in calls["endpoints"]["expressions"]["subnet_ids"][
        "references"
    ]


def test_no_private_subnet_maps_public_ips(composed_plan: dict) -> None:
    subnets = resources_of_type(composed_plan, "aws_subnet")
    assert len(subnets) == 6
    assert [s for s in subnets if s["map_public_ip_on_launch"]] == []


# -- literal IDs --------------------------------------------------------------------------------


def test_existing_vpc_plan_matches_inventory(existing_plan: dict) -> None:
    assert_inventory(existing_plan, INVENTORIES / "endpoints_existing_vpc.yaml")


def test_ssm_endpoints_are_interface_with_private_dns_in_every_subnet(existing_plan: dict) -> None:
    endpoints = {
        e["service_name"].rsplit(".", 1)[-1]: e
        for e in resources_of_type(existing_plan, "aws_vpc_endpoint")
        if e["vpc_endpoint_type"] == "Interface"
    }
    assert set(endpoints) == SSM_SERVICES | {"kms", "secretsmanager"}
    for name, e in endpoints.items():
        assert e["private_dns_enabled"] is True, name
        assert e["subnet_ids"] == EXISTING_VPC["subnet_ids"], name


#: The AWS-owned buckets SSM Agent reads in eu-central-1 (agent updates, document modules,
#: Distributor, attachments, patch baseline snapshots); the Windows-only bucket is left out.
SSM_AGENT_OBJECTS = {
    f"arn:aws:s3:::{b}/*"
    for b in (
        "aws-ssm-eu-central-1", "amazon-ssm-eu-central-1", "amazon-ssm-packages-eu-central-1",
        "eu-central-1-birdwatcher-prod", "aws-ssm-distributor-file-eu-central-1",
        "aws-ssm-document-attachments-eu-central-1", "patch-baseline-snapshot-eu-central-1",
    )
}


def test_s3_endpoint_policy_allows_only_platform_buckets_al2023_and_the_ssm_agent(existing_plan: dict) -> None:
    s3 = resources_by_address(existing_plan)["module.endpoints.aws_vpc_endpoint.s3"]
    assert s3["vpc_endpoint_type"] == "Gateway"
    assert s3["route_table_ids"] == EXISTING_VPC["route_table_ids"]
    policy = json.loads(s3["policy"])
    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    expected = {a for b in EXISTING_VPC["bucket_arns"] for a in (b, f"{b}/*")}
    expected.add("arn:aws:s3:::al2023-repos-eu-central-1-de612dc2/*")
    assert resources == expected | SSM_AGENT_OBJECTS
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])
    actions = [a for s in policy["Statement"] for a in s["Action"]]
    assert not [a for a in actions if "*" in a], actions
    repo = next(s for s in policy["Statement"] if s["Sid"] == "AmazonLinux2023Repositories")
    assert repo["Action"] == ["s3:GetObject"]  # read-only on AWS's bucket
    agent = next(s for s in policy["Statement"] if s["Sid"] == "SsmAgentBuckets")
    assert agent["Action"] == ["s3:GetObject"]  # read-only on AWS's buckets
    assert set(agent["Resource"]) == SSM_AGENT_OBJECTS
    assert not any("windows" in r for r in resources)
    outputs = existing_plan["output_changes"]["endpoints"]["after"]  # partly unknown: read the known part
    assert {f"arn:aws:s3:::{b}/*" for b in outputs["ssm_agent_buckets"]} == SSM_AGENT_OBJECTS


def test_ssm_agent_statement_can_be_switched_off(existing_root: Terraform) -> None:
    plan = existing_root.plan({**EXISTING_VPC, "allow_ssm_agent_buckets": False})
    s3 = resources_by_address(plan)["module.endpoints.aws_vpc_endpoint.s3"]
    assert [s["Sid"] for s in json.loads(s3["policy"])["Statement"]] == [
        "PlatformBucketsOnly", "AmazonLinux2023Repositories"]
    assert "ssm" not in s3["policy"]


def test_endpoint_security_group_admits_only_https_from_the_vpc(existing_plan: dict) -> None:
    (rule,) = resources_of_type(existing_plan, "aws_vpc_security_group_ingress_rule")
    assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 443, 443)
    assert rule["cidr_ipv4"] == EXISTING_VPC["vpc_cidr"]
    assert rule["cidr_ipv6"] is None and rule["referenced_security_group_id"] is None
    # No inline rules on the group itself, and no egress rule anywhere: the provider removes
    # the allow-all egress AWS adds on creation, so the endpoints can only answer.
    module = existing_plan["configuration"]["root_module"]["module_calls"]["endpoints"]["module"]
    sg_cfg = next(r for r in module["resources"] if r["address"] == "aws_security_group.this")
    assert not {"ingress", "egress"} & set(sg_cfg["expressions"])
    assert resources_of_type(existing_plan, "aws_vpc_security_group_egress_rule") == []
    assert resources_of_type(existing_plan, "aws_security_group_rule") == []


def test_al2023_statement_can_be_switched_off(existing_root: Terraform) -> None:
    plan = existing_root.plan({**EXISTING_VPC, "allow_al2023_repositories": False})
    s3 = resources_by_address(plan)["module.endpoints.aws_vpc_endpoint.s3"]
    assert "al2023-repos" not in s3["policy"]
    assert [s["Sid"] for s in json.loads(s3["policy"])["Statement"]] == ["PlatformBucketsOnly", "SsmAgentBuckets"]


# -- validation ---------------------------------------------------------------------------------




BATCHES: dict[str, dict] = {
    "a": {
        **EXISTING_VPC,
        "name": "",
        "region": "us-east-1; curl evil",
        "interface_endpoints": ["ssm-bogus"],
        "bucket_arns": ["arn:aws:s3:::*"],
        "bucket_actions": ["s3:*"],
        "route_table_ids": [],
    },
    "b": {
        **EXISTING_VPC,
        "vpc_id": "vpc-xyz",
        "vpc_cidr": "0.0.0.0/0",
        "interface_endpoints": ["s3"],
        "bucket_arns": [],
        "bucket_actions": ["*"],
        "subnet_ids": ["subnet-0123456789abcdef0", "sg-0123456789abcdef0"],
    },
    "c": {**EXISTING_VPC, "bucket_arns": ["arn:aws:s3:::acme-raw/events/*"], "vpc_cidr": "10.30.0.1/16"},
}

INVALID = [
    ("empty-name", "a", "name", "(got an empty or invalid name)"),
    ("hostile-region", "a", "region", "region must be an AWS region name"),
    ("unknown-endpoint", "a", "interface_endpoints", "interface_endpoints may contain only"),
    ("s3-is-not-an-interface", "b", "interface_endpoints", "interface_endpoints may contain only"),
    ("wildcard-bucket", "a", "bucket_arns", "must be plain bucket ARNs"),
    ("object-path-bucket", "c", "bucket_arns", "must be plain bucket ARNs"),
    ("no-bucket", "b", "bucket_arns", "bucket_arns must name at least one bucket"),
    ("s3-star-action", "a", "bucket_actions", 'no "*" or "s3:*", no wildcards'),
    ("star-action", "b", "bucket_actions", 'no "*" or "s3:*", no wildcards'),
    ("no-route-table", "a", "route_table_ids", "must list at least one route table ID"),
    ("not-a-subnet", "b", "subnet_ids", "must list at least one subnet ID"),
    ("bad-vpc-id", "b", "vpc_id", "vpc_id must be a VPC ID"),
    ("open-cidr", "b", "vpc_cidr", "0.0.0.0/0 would open the endpoints to any address"),
    ("cidr-host-bits", "c", "vpc_cidr", "no host bits set"),
]


@pytest.fixture(scope="module")
def rejected(existing_root: Terraform) -> dict[str, dict[str, list[str]]]:
    return {k: validation_errors(existing_root.plan_error(v)) for k, v in BATCHES.items()}


@pytest.mark.parametrize(
    ("batch", "argument", "message"), [pytest.param(b, a, m, id=i) for i, b, a, m in INVALID]
)
def test_invalid_input_is_rejected_with_a_clear_message(
    rejected: dict[str, dict[str, list[str]]], batch: str, argument: str, message: str
) -> None:
    messages = rejected[batch].get(argument, [])
    assert any(message in m for m in messages), (
        f"{argument}: expected {message!r}, got {messages or 'no error'}"
    )


def test_each_bad_input_fails_only_its_own_argument(
    rejected: dict[str, dict[str, list[str]]],
) -> None:
    for batch in BATCHES:
        bad = {a for _, b, a, _ in INVALID if b == batch}
        assert set(rejected[batch]) == bad, (batch, sorted(rejected[batch]))
