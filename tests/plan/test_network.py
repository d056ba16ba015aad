"""Plan tests of modules/network: the private network has no way out but the public tier.

The plan is rendered against the emulator (data sources for account and region answer there)
and compared with committed YAML inventories; the validation cases prove that a wrong input
stops at plan time with a message saying what is expected, not deep inside an apply.
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
EXAMPLE = REPO_ROOT / "modules" / "network" / "examples" / "basic"


@pytest.fixture(scope="module")
def network_root(emulator: Emulator) -> Iterator[Terraform]:
    """One initialised copy of the example for every plan in this file.

    Module scope rather than the function-scoped ``terraform`` fixture: ``init`` dominates a
    plan's time and the validation cases differ only in their variables.
    """
    with Terraform(EXAMPLE, emulator_env=emulator.env) as tf:
        yield tf


@pytest.fixture(scope="module")
def basic_plan(network_root: Terraform) -> dict:
    return network_root.plan()


def test_basic_plan_matches_inventory(basic_plan: dict) -> None:
    assert_inventory(basic_plan, INVENTORIES / "network_basic.yaml")


def test_outputs_carry_the_computed_layout(basic_plan: dict) -> None:
    """Outputs are partly unknown before apply, so read their known parts from output_changes."""
    out = basic_plan["output_changes"]["network"]["after"]
    assert out["vpc_cidr"] == "10.20.0.0/16"
    assert out["private_subnet_cidrs"] == ["10.20.64.0/24", "10.20.65.0/24"]
    assert len(out["isolated_route_table_ids"]) == 2  # one per private subnet
    assert out["flow_log_group_name"] == "/vpc/clickstream-dev/flow-logs"


def test_no_subnet_assigns_public_ips(basic_plan: dict) -> None:
    subnets = resources_of_type(basic_plan, "aws_subnet")
    assert len(subnets) == 4
    assert all(s["map_public_ip_on_launch"] is False for s in subnets)


def test_only_the_public_route_table_has_a_default_route(basic_plan: dict) -> None:
    """The only route resource targets the IGW from the public table; private tables have none."""
    routes = [r for r in basic_plan["configuration"]["root_module"]["module_calls"]["network"][
        "module"]["resources"] if r["type"] == "aws_route"]
    assert [r["name"] for r in routes] == ["public_internet"]
    refs = routes[0]["expressions"]["route_table_id"]["references"]
    assert "aws_route_table.public" in refs
    assert not any("private" in ref or "data" in ref for ref in refs)
    assert "aws_internet_gateway.this" in routes[0]["expressions"]["gateway_id"]["references"]


def test_private_nacl_admits_only_vpc_and_return_traffic(basic_plan: dict) -> None:
    nacl = resources_by_address(basic_plan)['module.network.aws_network_acl.private["private"]']
    ingress = {(r["protocol"], r["cidr_block"], r["from_port"], r["to_port"]) for r in nacl["ingress"]}
    assert ingress == {("-1", "10.20.0.0/16", 0, 0), ("tcp", "0.0.0.0/0", 1024, 65535)}


def test_flow_log_role_can_write_only_its_log_group(basic_plan: dict) -> None:
    """Least privilege: three log actions on the one group, DescribeLogGroups (which has no
    resource-level permissions) on "*" alone, no wildcard action."""
    by_addr = resources_by_address(basic_plan)
    group_arn = "arn:aws:logs:us-east-1:123456789012:log-group:/vpc/clickstream-dev/flow-logs"
    assert by_addr["module.network.aws_cloudwatch_log_group.flow_logs[0]"]["name"] == "/vpc/clickstream-dev/flow-logs"
    policy = json.loads(by_addr["module.network.aws_iam_role_policy.flow_logs[0]"]["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert set(statements) == {"WriteThisGroupOnly", "FindTheLogGroup"}
    write = statements["WriteThisGroupOnly"]
    assert sorted(write["Action"]) == ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    assert write["Resource"] == [group_arn, f"{group_arn}:*"]
    find = statements["FindTheLogGroup"]
    assert (find["Action"], find["Resource"]) == (["logs:DescribeLogGroups"], "*")
    assert all(s["Effect"] == "Allow" and "Condition" not in s for s in statements.values())
    assert not [a for s in statements.values() for a in s["Action"] if "*" in a]
    role = resources_by_address(basic_plan)["module.network.aws_iam_role.flow_logs[0]"]
    trust = json.loads(role["assume_role_policy"])
    (stmt,) = trust["Statement"]
    assert stmt["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert stmt["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"


def test_kms_key_policy_has_no_wildcard_action(basic_plan: dict) -> None:
    key = resources_by_address(basic_plan)["module.network.module.flow_logs_key[0].aws_kms_key.this"]
    policy = json.loads(key["policy"])
    actions = {s["Sid"]: [s["Action"]] if isinstance(s["Action"], str) else s["Action"] for s in policy["Statement"]}
    assert not [a for acts in actions.values() for a in acts if "*" in a]
    # The account administers the key; it no longer encrypts or decrypts with it itself.
    assert not {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"} & set(actions["KeyAdministration"])
    logs_stmt = next(s for s in policy["Statement"] if s["Principal"].get("Service"))
    assert logs_stmt["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"] == (
        "arn:aws:logs:us-east-1:123456789012:log-group:/vpc/clickstream-dev/flow-logs"
    )


def test_isolated_layout_with_data_tier(network_root: Terraform) -> None:
    """Public tier off (no IGW, no route at all), OLTP data tier on, explicit private CIDRs."""
    plan = network_root.plan(
        {
            "name": "shop-eu",
            "vpc_cidr": "10.40.0.0/16",
            "availability_zones": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
            "subnets": {
                "public_tier": False,
                "data_tier": True,
                "private_cidrs": ["10.40.10.0/24", "10.40.11.0/24", "10.40.12.0/24"],
            },
            "flow_logs": {"retention_in_days": 30},
        }
    )
    assert_inventory(plan, INVENTORIES / "network_isolated_data_tier.yaml")




# One plan per batch; a batch holds at most one bad value per argument.
BATCHES: dict[str, dict] = {
    "a": {
        "name": "",
        "vpc_cidr": "10.20.0.0",
        "availability_zones": ["us-east-1a"],
        "flow_logs": {"retention_in_days": 10},
    },
    "b": {
        "name": 'dev"; rm -rf /',
        "vpc_cidr": "10.20.0.0/33",
        "availability_zones": ["us-east-1a", "us-east-1a"],
        "flow_logs": {"traffic_type": "EVERYTHING"},
    },
    "c": {
        "name": "Dev-Upper",
        "vpc_cidr": "0.0.0.0/0",
        "availability_zones": ["us-east-1a", "use1-az1"],
        "flow_logs": {"kms_key_arn": "*"},
    },
    "d": {
        "vpc_cidr": "10.20.0.0/16",
        "availability_zones": ["us-east-1a", "us-east-1b"],
        "subnets": {
            "private_cidrs": ["10.99.0.0/24", "10.20.65.0/24"],
            "public_cidrs": ["10.20.0.0/24"],
        },
    },
}

# (id, batch, module argument, the message the user must see)
INVALID = [
    ("cidr-not-a-cidr", "a", "vpc_cidr", "vpc_cidr must be an IPv4 network address in CIDR"),
    ("cidr-prefix-33", "b", "vpc_cidr", "vpc_cidr must be an IPv4 network address in CIDR"),
    ("cidr-everything", "c", "vpc_cidr", "with a prefix from /16 to /24"),
    ("one-az", "a", "availability_zones", "must list at least two availability zones"),
    ("repeated-az", "b", "availability_zones", "availability_zones must not repeat a zone"),
    ("az-not-a-zone", "c", "availability_zones", "must be zone names such as us-east-1a"),
    ("empty-name", "a", "name", "(got an empty or invalid name)"),
    ("hostile-name", "b", "name", "name must be 3-32 characters of lowercase letters"),
    ("uppercase-name", "c", "name", "name must be 3-32 characters of lowercase letters"),
    ("subnet-outside-vpc", "d", "subnets", "every explicit subnet CIDR must lie inside vpc_cidr"),
    ("subnet-count", "d", "subnets", "exactly one CIDR per availability zone"),
    ("retention", "a", "flow_logs", "retention_in_days must be one of the values"),
    ("traffic-type", "b", "flow_logs", "traffic_type must be ACCEPT, REJECT or ALL"),
    ("kms-arn", "c", "flow_logs", "kms_key_arn must be null (the module creates a key)"),
]


@pytest.fixture(scope="module")
def rejected(network_root: Terraform) -> dict[str, dict[str, list[str]]]:
    """Validation errors of each batch, planned once."""
    return {k: validation_errors(network_root.plan_error(v)) for k, v in BATCHES.items()}


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
    """No batch reports an argument it did not break (the checks are independent)."""
    for batch, variables in BATCHES.items():
        bad = {a for _, b, a, _ in INVALID if b == batch}
        assert set(rejected[batch]) == bad, (batch, sorted(rejected[batch]), sorted(variables))
