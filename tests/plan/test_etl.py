"""Plan tests of modules/etl: VPC placement, egress rules, schedule, single flight, IAM.

The example is planned against the emulator with the real ETL zip and compared with a
committed inventory; the IAM policy document is asserted statement by statement so that no
permission can creep in unnoticed. Validation cases prove bad inputs stop at plan time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from clickstream import REPO_ROOT
from clickstream.build import build_lambda
from clickstream.emulator import Emulator
from clickstream.terraform import Terraform
from clickstream.testing.plan import assert_inventory, resources_by_address, resources_of_type

pytestmark = pytest.mark.plan

INVENTORIES = Path(__file__).parent / "inventories"
EXAMPLE = REPO_ROOT / "modules" / "etl" / "examples" / "basic"
M = "module.etl"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    zip_path, b64 = build_lambda("etl", out_dir=tmp_path_factory.mktemp("build"))
    return {"package_path": str(zip_path), "package_hash": b64}


@pytest.fixture(scope="module")
def root(emulator: Emulator) -> Iterator[Terraform]:
    with Terraform(EXAMPLE, emulator_env=emulator.env) as tf:
        yield tf


@pytest.fixture(scope="module")
def plan(root: Terraform, package: dict[str, str]) -> dict:
    return root.plan({**package, "schedule_expression": "rate(10 minutes)",
                      "lambda": {"timeout": 600, "safety_ms": 45000}})


def _config_resource(plan: dict, address: str) -> dict:
    """A resource from the configuration (expressions, for values unknown at plan time)."""
    mod = plan["configuration"]["root_module"]["module_calls"]["etl"]["module"]
    for res in mod["resources"]:
        if f"{M}.{res['address']}" == address:
            return res
    raise KeyError(address)


def test_inventory(plan: dict) -> None:
    assert_inventory(plan, INVENTORIES / "etl_basic.yaml")


def test_function_runs_in_private_subnets_single_flight(plan: dict) -> None:
    fn = resources_by_address(plan)[f"{M}.aws_lambda_function.this"]
    assert fn["reserved_concurrent_executions"] == 1
    assert fn["timeout"] == 600 and fn["handler"] == "etl.handler.handler"
    expr = _config_resource(plan, f"{M}.aws_lambda_function.this")["expressions"]
    # The map is unknown at plan time (bucket id); its configured references are not.
    env_refs = set(expr["environment"][0]["variables"]["references"])
    assert {"var.warehouse.password_parameter_arn", "var.raw.bucket_name", "var.raw.prefix",
            "var.warehouse.host", "var.lambda.safety_ms"} <= env_refs
    assert not any("password" in r and not r.endswith("password_parameter_arn") for r in env_refs)
    vpc = expr["vpc_config"][0]
    assert vpc["subnet_ids"]["references"][0] == "var.vpc.subnet_ids"
    assert "aws_security_group.this.id" in vpc["security_group_ids"]["references"]


def test_egress_only_to_warehouse_s3_and_endpoints(plan: dict) -> None:
    rules = {r["description"]: r for r in resources_of_type(plan, "aws_vpc_security_group_egress_rule")}
    assert set(rules) == {"PostgreSQL warehouse", "S3 through the gateway endpoint",
                          "Interface endpoints (SSM for the warehouse password)"}
    ports = {d: (r["ip_protocol"], r["from_port"], r["to_port"]) for d, r in rules.items()}
    assert ports["PostgreSQL warehouse"] == ("tcp", 5432, 5432)
    assert ports["S3 through the gateway endpoint"] == ("tcp", 443, 443)
    for r in rules.values():
        assert r.get("cidr_ipv4") is None and r.get("cidr_ipv6") is None  # never 0.0.0.0/0
    assert resources_of_type(plan, "aws_vpc_security_group_ingress_rule") == []
    sg = resources_by_address(plan)[f"{M}.aws_security_group.this"]
    assert sg.get("ingress") in ([], None)
    cfg = {r["address"]: r["expressions"] for r in
           plan["configuration"]["root_module"]["module_calls"]["etl"]["module"]["resources"]
           if r["type"] == "aws_vpc_security_group_egress_rule"}
    assert "var.vpc.s3_prefix_list_id" in cfg["aws_vpc_security_group_egress_rule.s3"]["prefix_list_id"]["references"]
    assert "var.warehouse.security_group_id" in (
        cfg["aws_vpc_security_group_egress_rule.warehouse"]["referenced_security_group_id"]["references"])
    assert "var.vpc.endpoints_security_group_id" in (
        cfg["aws_vpc_security_group_egress_rule.endpoints"]["referenced_security_group_id"]["references"])


def test_schedule_and_failure_handling(plan: dict) -> None:
    by = resources_by_address(plan)
    assert by[f"{M}.aws_cloudwatch_event_rule.this"]["schedule_expression"] == "rate(10 minutes)"
    inv = by[f"{M}.aws_lambda_function_event_invoke_config.this"]
    assert inv["maximum_retry_attempts"] == 0
    q = by[f"{M}.aws_sqs_queue.failures"]
    assert q["sqs_managed_sse_enabled"] is True
    alarm = by[f"{M}.aws_cloudwatch_metric_alarm.errors"]
    assert (alarm["metric_name"], alarm["namespace"], alarm["threshold"]) == ("Errors", "AWS/Lambda", 0)
    assert by[f"{M}.aws_cloudwatch_log_group.this"]["retention_in_days"] == 365


def _policy_statements(plan: dict) -> dict[str, dict]:
    """Configured statements of the role's policy document, keyed by sid.

    The rendered JSON is unknown at plan time (ARNs of new resources), but the configured
    statements name every action and every resource expression.
    """
    mod = plan["configuration"]["root_module"]["module_calls"]["etl"]["module"]
    data = next(r for r in mod["resources"] if r["address"] == "data.aws_iam_policy_document.lambda")
    out = {}
    for st in data["expressions"]["statement"]:
        out[st["sid"]["constant_value"]] = st
    return out


def test_iam_actions_exactly(plan: dict) -> None:
    st = _policy_statements(plan)
    actions = {sid: sorted(s["actions"]["constant_value"]) for sid, s in st.items()}
    assert actions == {
        "ListRawPrefix": ["s3:ListBucket"],
        "ReadRawObjects": ["s3:GetObject"],
        "DecryptRawObjects": ["kms:Decrypt"],
        "ReadWarehousePassword": ["ssm:GetParameter"],
        "WriteOwnLogs": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "SendFailedRuns": ["sqs:SendMessage"],
        "ManageVpcEnis": sorted([
            "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
            "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses"]),
    }
    assert all("*" not in a for acts in actions.values() for a in acts)
    # "*" resources only for the ENI actions AWS requires it for.
    star = [sid for sid, s in st.items()
            if s["resources"].get("constant_value") == ["*"]]
    assert star == ["ManageVpcEnis"]
    assert st["ReadWarehousePassword"]["resources"]["references"][0] == "var.warehouse.password_parameter_arn"
    assert st["DecryptRawObjects"]["resources"]["references"][0] == "var.raw.kms_key_arn"
    assert st["ListRawPrefix"]["condition"][0]["variable"]["constant_value"] == "s3:prefix"


def test_no_managed_policies_attached(plan: dict) -> None:
    assert resources_of_type(plan, "aws_iam_role_policy_attachment") == []
    role = resources_by_address(plan)[f"{M}.aws_iam_role.this"]
    assume = json.loads(role["assume_role_policy"])
    assert assume["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}


@pytest.mark.parametrize(("variables", "message"), [
    ({"schedule_expression": "every 5 minutes"}, "schedule_expression must be rate"),
    ({"lambda": {"timeout": 30}}, "lambda.timeout must be 60-900"),
    ({"name": "Bad_Name"}, "name must be 3-40 characters"),
    ({"password_parameter_name": ""}, "password_parameter_arn must be the ARN of one SSM parameter"),
])
def test_validation(root: Terraform, package: dict[str, str], variables: dict, message: str) -> None:
    err = root.plan_error({**package, **variables})
    assert message in " ".join(err.split())
