"""Plan tests of modules/etl: VPC placement, egress rules, schedule, single flight, IAM, log key.

The example (the module in modules/network's private subnets with modules/endpoints, as an
environment composes it) is planned against the emulator with the real ETL zip and compared with
a committed inventory; the IAM policy documents are asserted statement by statement so that no
permission can creep in unnoticed. Validation cases prove bad inputs stop at plan time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from clickstream import REPO_ROOT
from clickstream.build import build_lambda
from clickstream.emulator import Emulator
from clickstream.terraform import Terraform
from clickstream.testing.plan import assert_inventory, iter_resources, resources_by_address

pytestmark = pytest.mark.plan

INVENTORIES = Path(__file__).parent / "inventories"
EXAMPLE = REPO_ROOT / "modules" / "etl" / "examples" / "basic"
M = "module.etl"
FN = f"{M}.module.function.aws_lambda_function.this"  # modules/internal/lambda_function
WAREHOUSE_SG = "sg-0a1b2c3d4e5f60718"  # the example's default warehouse.security_group_id


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


def _etl(plan: dict, type_: str) -> list[dict]:
    """Planned values of the ETL module's own resources of one type (the example also holds
    the network and endpoints modules)."""
    return [r.get("values", {}) for r in iter_resources(plan)
            if r["type"] == type_ and r["address"].startswith(f"{M}.")]


def _config_resource(plan: dict, address: str) -> dict:
    """A resource from the configuration (expressions, for values unknown at plan time)."""
    mod = plan["configuration"]["root_module"]["module_calls"]["etl"]["module"]
    for res in mod["resources"]:
        if f"{M}.{res['address']}" == address:
            return res
    raise KeyError(address)


def test_inventory(plan: dict) -> None:
    assert_inventory(plan, INVENTORIES / "etl_basic.yaml")


def test_function_runs_in_private_subnets_without_a_reservation(plan: dict) -> None:
    fn = resources_by_address(plan)[FN]
    # No reservation by default (-1): a new account's quota of 10 refuses any; the warehouse
    # lock keeps runs apart.
    assert fn["reserved_concurrent_executions"] == -1
    assert fn["timeout"] == 600 and fn["handler"] == "etl.handler.handler"
    # The raw bucket's name is unknown at plan time; the rest of the environment is known.
    env = fn["environment"][0]["variables"]
    assert env["DW_PASSWORD_PARAM"] == "arn:aws:ssm:us-east-1:123456789012:parameter/clickstream-dev/dw/etl-password"
    assert (env["RAW_PREFIX"], env["ETL_SAFETY_MS"]) == ("events/v1/", "45000")
    assert not [k for k in env if "PASSWORD" in k and k != "DW_PASSWORD_PARAM"]
    call = _function_call(plan)["expressions"]
    vpc = json.dumps(call["vpc"])
    assert "var.vpc.subnet_ids" in vpc and "aws_security_group.this.id" in vpc
    assert "aws_sqs_queue.failures.arn" in json.dumps(call["failures"])


def _function_call(plan: dict) -> dict:
    """The ETL's call of modules/internal/lambda_function, as configured."""
    return plan["configuration"]["root_module"]["module_calls"]["etl"]["module"]["module_calls"]["function"]


def test_reservation_is_applied_when_set(root: Terraform, package: dict[str, str]) -> None:
    plan = root.plan({**package, "lambda": {"reserved_concurrency": 1}})
    assert resources_by_address(plan)[FN]["reserved_concurrent_executions"] == 1


CA_PARAM = "/clickstream-dev/dw/ca-certificate"


def test_warehouse_certificate_is_verified_with_the_hosts_ca(root: Terraform, package: dict[str, str]) -> None:
    """With the host's CA parameter the function verifies the server (verify-full, DW_CA_PARAM)
    and its role may read exactly that parameter; without it (the default plan) neither."""
    warehouse = {"security_group_id": WAREHOUSE_SG, "host": "dw.clickstream.internal",
                 "password_parameter_name": "/clickstream-dev/dw/etl-password", "ca_parameter_name": CA_PARAM}
    plan = root.plan({**package, "warehouse": warehouse})
    by = resources_by_address(plan)
    env = by[FN]["environment"][0]["variables"]
    assert (env["DW_SSLMODE"], env["DW_CA_PARAM"]) == ("verify-full", CA_PARAM)
    doc = json.loads(by[f"{M}.aws_iam_role_policy.warehouse_ca[0]"]["policy"])
    (stmt,) = doc["Statement"]
    assert (stmt["Sid"], stmt["Effect"], stmt["Action"], stmt["Resource"]) == (
        "ReadWarehouseCa", "Allow", "ssm:GetParameter", f"arn:aws:ssm:us-east-1:123456789012:parameter{CA_PARAM}")
    assert by[f"{M}.aws_iam_role_policy.warehouse_ca[0]"]["name"] == "etl-warehouse-ca"


def test_no_ca_means_no_ca_permission(plan: dict) -> None:
    by = resources_by_address(plan)
    assert not [a for a in by if "warehouse_ca" in a]
    env = by[FN]["environment"][0]["variables"]
    assert "DW_CA_PARAM" not in env and env["DW_SSLMODE"] == "prefer"


def test_egress_only_to_warehouse_s3_and_endpoints(plan: dict) -> None:
    rules = {r["description"]: r for r in _etl(plan, "aws_vpc_security_group_egress_rule")}
    assert set(rules) == {"PostgreSQL warehouse", "S3 through the gateway endpoint",
                          "Interface endpoints (SSM for the warehouse password)"}
    ports = {d: (r["ip_protocol"], r["from_port"], r["to_port"]) for d, r in rules.items()}
    assert ports["PostgreSQL warehouse"] == ("tcp", 5432, 5432)
    assert ports["S3 through the gateway endpoint"] == ("tcp", 443, 443)
    assert ports["Interface endpoints (SSM for the warehouse password)"] == ("tcp", 443, 443)
    assert rules["PostgreSQL warehouse"]["referenced_security_group_id"] == WAREHOUSE_SG
    for r in rules.values():
        assert r.get("cidr_ipv4") is None and r.get("cidr_ipv6") is None  # never 0.0.0.0/0
    assert _etl(plan, "aws_vpc_security_group_ingress_rule") == []
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


def test_example_wires_the_network_and_endpoints_modules(plan: dict) -> None:
    """The function sits in modules/network's private subnets, its S3 rule targets the S3
    gateway endpoint's prefix list and its 443 rule the interface endpoints' group."""
    call = plan["configuration"]["root_module"]["module_calls"]["etl"]["expressions"]
    text = json.dumps(call["vpc"])  # the object's expression with the references it is built from
    for ref in ("module.network.private_subnet_ids", "module.network.vpc_id",
                "module.endpoints.s3_prefix_list_id", "module.endpoints.security_group_id"):
        assert ref in text, ref
    by = resources_by_address(plan)
    assert by["module.endpoints.aws_vpc_endpoint.s3"]["vpc_endpoint_type"] == "Gateway"
    policy = json.loads(by["module.endpoints.aws_vpc_endpoint.s3"]["policy"])
    allowed = json.dumps(policy)
    assert "arn:aws:s3:::clickstream-dev-raw-123456789012" in allowed
    # No route to the internet anywhere in the example.
    types = {r["type"] for r in iter_resources(plan)}
    assert not types & {"aws_nat_gateway", "aws_internet_gateway", "aws_egress_only_internet_gateway"}
    for route in (r.get("values", {}) for r in iter_resources(plan) if r["type"] == "aws_route_table"):
        assert not any(x.get("cidr_block") == "0.0.0.0/0" for x in route.get("route") or [])


def test_schedule_and_failure_handling(plan: dict) -> None:
    by = resources_by_address(plan)
    assert by[f"{M}.aws_cloudwatch_event_rule.this"]["schedule_expression"] == "rate(10 minutes)"
    inv = by[f"{M}.module.function.aws_lambda_function_event_invoke_config.this[0]"]
    assert inv["maximum_retry_attempts"] == 0
    q = by[f"{M}.aws_sqs_queue.failures"]
    assert q["sqs_managed_sse_enabled"] is True and q.get("kms_master_key_id") is None
    alarm = by[f"{M}.aws_cloudwatch_metric_alarm.errors"]
    assert (alarm["metric_name"], alarm["namespace"], alarm["threshold"]) == ("Errors", "AWS/Lambda", 0)
    assert by[f"{M}.module.function.aws_cloudwatch_log_group.this"]["retention_in_days"] == 365


def test_alarms_watch_the_metrics_the_function_emits(plan: dict) -> None:
    """The two data alarms read what lambda_src/etl/metrics.py writes: same namespace (passed
    to the function), same metric names, the one dimension it sets."""
    from etl import metrics

    by = resources_by_address(plan)
    env = by[FN]["environment"][0]["variables"]
    emitted = {name for name, _key in metrics.METRICS}
    for address, metric in (("unreadable_objects", "UnreadableObjects"), ("accounting", "AccountingMismatches")):
        alarm = by[f"{M}.aws_cloudwatch_metric_alarm.{address}"]
        assert alarm["namespace"] == env["ETL_METRICS_NAMESPACE"] == metrics.DEFAULT_NAMESPACE
        assert alarm["metric_name"] == metric and metric in emitted
        assert alarm["dimensions"] == {metrics.DIMENSION: "clickstream-dev-etl"}
        assert (alarm["comparison_operator"], alarm["threshold"]) == ("GreaterThanThreshold", 0)


def test_log_group_encrypted_with_the_modules_own_key(plan: dict) -> None:
    by = resources_by_address(plan)
    key = by[f"{M}.module.log_key[0].aws_kms_key.this"]
    assert key["enable_key_rotation"] is True
    assert "module.log_key[0].key_arn" in _function_call(plan)["expressions"]["log"]["references"]
    # Built from the function's name, region and account: known at plan time, read rendered.
    sts = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}
    assert set(sts) == {"KeyAdministration", "CloudWatchLogsEncryptsTheFunctionsLogGroup"}
    admin = sts["KeyAdministration"]["Action"]
    assert not any("*" in a for a in admin)
    assert not {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant"} & set(admin)
    logs = sts["CloudWatchLogsEncryptsTheFunctionsLogGroup"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert not any("*" in a for a in logs["Action"])
    group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/clickstream-dev-etl"
    assert logs["Condition"] == {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": group}}


def test_log_group_uses_a_given_key_and_creates_none(root: Terraform, package: dict[str, str]) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/8f1e2d3c-4b5a-4697-8877-665544332211"
    plan = root.plan({**package, "log_kms_key_arn": key})
    by = resources_by_address(plan)
    assert by[f"{M}.module.function.aws_cloudwatch_log_group.this"]["kms_key_id"] == key
    assert not [a for a in by if a.startswith(f"{M}.") and (".aws_kms_key." in a or ".aws_kms_alias." in a)]
    assert plan["planned_values"]["outputs"]["log_kms_key_arn"]["value"] == key


def _policy_statements(plan: dict, data: str, module: dict | None = None) -> dict[str, dict]:
    """Configured statements of one of the role's policy documents, keyed by sid.

    The rendered JSON of ``lambda`` is unknown at plan time (ARNs of new resources), but the
    configured statements name every action and every resource expression. ``module``: the
    configuration of another module than the ETL's (its function sub-module).
    """
    mod = module or plan["configuration"]["root_module"]["module_calls"]["etl"]["module"]
    doc = next(r for r in mod["resources"] if r["address"] == f"data.aws_iam_policy_document.{data}")
    statements = doc["expressions"]["statement"]
    if isinstance(statements, dict):  # a dynamic block: its content
        statements = [statements]
    return {st["sid"]["constant_value"]: st for st in statements}


def test_iam_actions_exactly(plan: dict) -> None:
    data = _policy_statements(plan, "lambda")
    function = _function_call(plan)["module"]
    execution = _policy_statements(plan, "execution", function)
    enis = _policy_statements(plan, "vpc_enis", function)
    assert {sid: sorted(s["actions"]["constant_value"]) for sid, s in data.items()} == {
        "ListRawPrefix": ["s3:ListBucket"],
        "ReadRawObjects": ["s3:GetObject"],
        "DecryptRawObjects": ["kms:Decrypt"],
        "ReadWarehousePassword": ["ssm:GetParameter"],
    }
    # What every function gets from modules/internal/lambda_function: its own log streams.
    assert {sid: sorted(s["actions"]["constant_value"]) for sid, s in execution.items()} == {
        "WriteOwnLogs": ["logs:CreateLogStream", "logs:PutLogEvents"],
    }
    # The ENI permissions live alone in their own document (the one the checkov skip is on).
    assert {sid: sorted(s["actions"]["constant_value"]) for sid, s in enis.items()} == {
        "ManageVpcEnis": sorted([
            "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
            "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses"]),
    }
    st = {**data, **execution, **enis}
    assert all("*" not in a for s in st.values() for a in s["actions"]["constant_value"])
    # "*" resources only for the ENI actions AWS requires it for.
    star = [sid for sid, s in st.items() if s["resources"].get("constant_value") == ["*"]]
    assert star == ["ManageVpcEnis"]
    assert st["ReadWarehousePassword"]["resources"]["references"][0] == "var.warehouse.password_parameter_arn"
    assert st["DecryptRawObjects"]["resources"]["references"][0] == "var.raw.kms_key_arn"
    assert st["ListRawPrefix"]["condition"][0]["variable"]["constant_value"] == "s3:prefix"
    # The ENI document is rendered at plan time (no unknowns): check the JSON the role gets.
    rendered = resources_by_address(plan)[f"{M}.module.function.aws_iam_role_policy.vpc_enis[0]"]
    doc = json.loads(rendered["policy"])
    (stmt,) = doc["Statement"]
    assert (stmt["Effect"], stmt["Resource"], stmt["Sid"]) == ("Allow", "*", "ManageVpcEnis")
    assert sorted(stmt["Action"]) == sorted(enis["ManageVpcEnis"]["actions"]["constant_value"])
    assert sorted(r["name"] for r in _etl(plan, "aws_iam_role_policy")) == [
        "etl", "etl-execution", "etl-vpc-enis", "warehouse-password-key"]


def test_role_decrypts_the_password_key_only_through_ssm(plan: dict) -> None:
    """The module grants kms:Decrypt on the password's key itself (callers used to split the
    role ARN to attach it), on that one key and only for requests SSM makes."""
    by = resources_by_address(plan)
    doc = json.loads(by[f"{M}.aws_iam_role_policy.warehouse_password_key"]["policy"])
    (stmt,) = doc["Statement"]
    assert (stmt["Sid"], stmt["Action"], stmt["Resource"]) == (
        "DecryptWarehousePassword", "kms:Decrypt",
        "arn:aws:kms:us-east-1:123456789012:key/7c1e5a2b-9d3f-4b6a-8e0c-2f4d6b8a1c3e")
    assert stmt["Condition"] == {"StringEquals": {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}}
    assert plan["planned_values"]["outputs"]["role_name"]["value"] == "clickstream-dev-etl-role"


def test_no_managed_policies_attached(plan: dict) -> None:
    assert _etl(plan, "aws_iam_role_policy_attachment") == []
    role = resources_by_address(plan)[f"{M}.module.function.aws_iam_role.this"]
    assume = json.loads(role["assume_role_policy"])
    assert assume["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}


#: The start of the message for a bad lambda.reserved_concurrency.
BAD_RESERVATION = ("lambda.reserved_concurrency must be null (no reservation, the default; "
                   "the warehouse lock keeps runs apart)")

# Terraform reports every failing variable validation of a run, so one plan carries one bad
# value per variable; the second run holds the warehouse object's other bad field.
BAD_RUNS = [
    (
        {
            "schedule_expression": "every 5 minutes",
            "lambda": {"timeout": 30, "reserved_concurrency": 0},
            "name": "Bad_Name",
            "warehouse": {"security_group_id": WAREHOUSE_SG, "host": "dw", "password_parameter_name": ""},
            "log_kms_key_arn": "alias/my-key",
            "raw_kms_key_arn": "my-key",
        },
        [
            "schedule_expression must be rate",
            "lambda.timeout must be 60-900",
            BAD_RESERVATION,
            "name must be 3-40 characters",
            "password_parameter_arn must be the ARN of one SSM parameter",
            "kms_key_arn must be null (the module creates a key) or a KMS key ARN",
            "raw.kms_key_arn must be a KMS key ARN",
        ],
    ),
    (
        {"warehouse": {"security_group_id": "default", "host": "dw", "password_parameter_name": "/p"},
         "lambda": {"reserved_concurrency": 11}},
        ["warehouse.security_group_id a security group id",
         f"{BAD_RESERVATION} or a whole number between 1 and 10"],
    ),
]


BAD_RUNS += [
    (
        {"warehouse": {"security_group_id": WAREHOUSE_SG, "host": "dw", "password_parameter_name": "/p",
                       "sslmode": "verify-full"}},
        ["warehouse.sslmode verify-ca and verify-full check the server's certificate and need its CA"],
    ),
    (
        {"warehouse": {"security_group_id": WAREHOUSE_SG, "host": "dw", "password_parameter_name": "/p",
                       "ca_parameter_name": "/p/ca", "sslmode": "require"}},
        ["warehouse.sslmode must be verify-full (the default with a CA) or verify-ca when the CA is given"],
    ),
]


@pytest.mark.parametrize(("variables", "messages"), BAD_RUNS,
                         ids=["many", "warehouse-sg", "verify-without-ca", "ca-with-require"])
def test_validation(root: Terraform, package: dict[str, str], variables: dict, messages: list[str]) -> None:
    err = " ".join(root.plan_error({**package, **variables}).split())
    for message in messages:
        assert message in err, f"{message!r} not in:\n{err[-3000:]}"


def test_native_validation_tests() -> None:
    """modules/etl/tests/validation.tftest.hcl with a mocked provider: the CA pairing rules the
    example cannot break (it derives the ARN from the name) and bad reservations."""
    with Terraform(REPO_ROOT / "modules/etl") as t:
        t.init()
        proc = t.run("test", "-no-color", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    match = re.search(r"Success! (\d+) passed, 0 failed", out)
    assert match and int(match.group(1)) >= 6, out
