"""Plan tests of modules/internal/lambda_function: one function with its role and log group.

The example's terraform.tfvars give the shape modules/etl builds (in a VPC, a failure queue);
a second plan drops both (vpc = null, failures = null), the shape modules/ingest builds. The
rendered role policies are read statement by statement where they are known at plan time (the
trust policy, the ENI policy) and as configured where they name the new log group's ARN.
Hostile values for every variable stop at plan time, each with its own message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from clickstream import REPO_ROOT
from clickstream.build import build_lambda
from clickstream.emulator import Emulator
from clickstream.terraform import Terraform
from clickstream.testing.plan import iter_resources, resources_by_address, validation_errors

pytestmark = pytest.mark.plan

EXAMPLE = REPO_ROOT / "modules" / "internal" / "lambda_function" / "examples" / "basic"
M = "module.function"
FN = f"{M}.aws_lambda_function.this"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:clickstream-example-fn-failures"
KEY = "arn:aws:kms:us-east-1:123456789012:key/8f1e2d3c-4b5a-4697-8877-665544332211"
ENI_ACTIONS = sorted([
    "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
])


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
    return root.plan(package)


@pytest.fixture(scope="module")
def bare_plan(root: Terraform, package: dict[str, str]) -> dict:
    """No VPC, no failure queue, sizes left to the module's defaults."""
    return root.plan({**package, "vpc": None, "failures": None, "settings": {}})


def _policies(plan: dict) -> dict[str, dict]:
    return {r["values"]["name"]: r for r in iter_resources(plan) if r["type"] == "aws_iam_role_policy"}


def _configured(plan: dict, address: str) -> dict:
    module = plan["configuration"]["root_module"]["module_calls"]["function"]["module"]
    return next(r for r in module["resources"] if r["address"] == address)["expressions"]


def test_function_is_built_from_its_inputs(plan: dict) -> None:
    fn = resources_by_address(plan)[FN]
    assert (fn["function_name"], fn["handler"], fn["runtime"], fn["architectures"]) == (
        "clickstream-example-fn", "etl.handler.handler", "python3.12", ["x86_64"])
    assert (fn["memory_size"], fn["timeout"], fn["reserved_concurrent_executions"]) == (1024, 600, -1)
    assert fn["environment"] == [{"variables": {"RAW_PREFIX": "events/v1/", "LOG_LEVEL": "INFO"}}]
    assert fn["vpc_config"][0]["subnet_ids"] == ["subnet-0123456789abcdef0"]
    assert fn["vpc_config"][0]["security_group_ids"] == ["sg-0123456789abcdef0"]
    assert fn["dead_letter_config"] == [{"target_arn": QUEUE}]
    assert fn["logging_config"][0]["log_group"] == "/aws/lambda/clickstream-example-fn"
    assert fn["tags"] == {"Example": "internal-lambda-function"}


def test_log_group_has_retention_and_the_given_key(plan: dict) -> None:
    group = resources_by_address(plan)[f"{M}.aws_cloudwatch_log_group.this"]
    assert (group["name"], group["retention_in_days"], group["kms_key_id"]) == (
        "/aws/lambda/clickstream-example-fn", 365, KEY)


def test_only_lambda_of_this_account_assumes_the_role(plan: dict) -> None:
    role = resources_by_address(plan)[f"{M}.aws_iam_role.this"]
    assert role["name"] == "clickstream-example-fn-role"
    (stmt,) = json.loads(role["assume_role_policy"])["Statement"]
    assert (stmt["Effect"], stmt["Action"], stmt["Principal"]) == (
        "Allow", "sts:AssumeRole", {"Service": "lambda.amazonaws.com"})
    assert stmt["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_role_may_write_its_own_logs_and_send_to_its_queue_only(plan: dict) -> None:
    assert sorted(_policies(plan)) == ["example-execution", "example-vpc-enis"]
    assert not [r for r in iter_resources(plan) if r["type"] == "aws_iam_role_policy_attachment"]
    statements = _configured(plan, "data.aws_iam_policy_document.execution")["statement"]
    (logs,) = statements if isinstance(statements, list) else [statements]
    assert (logs["sid"]["constant_value"], logs["actions"]["constant_value"]) == (
        "WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"])
    assert "aws_cloudwatch_log_group.this.arn" in logs["resources"]["references"]
    # The queue statement (a dynamic block on var.failures) is read rendered by the apply test
    # of modules/etl, where the log group's ARN is known.


def test_vpc_function_gets_exactly_the_eni_actions(plan: dict) -> None:
    (stmt,) = json.loads(_policies(plan)["example-vpc-enis"]["values"]["policy"])["Statement"]
    assert (stmt["Sid"], stmt["Effect"], stmt["Resource"]) == ("ManageVpcEnis", "Allow", "*")
    assert sorted(stmt["Action"]) == ENI_ACTIONS


def test_failures_go_to_the_queue_without_retries(plan: dict) -> None:
    config = resources_by_address(plan)[f"{M}.aws_lambda_function_event_invoke_config.this[0]"]
    assert (config["maximum_retry_attempts"], config["maximum_event_age_in_seconds"]) == (0, 3600)
    assert config["destination_config"] == [{"on_failure": [{"destination": QUEUE}], "on_success": []}]


def test_without_vpc_and_queue_nothing_of_either_is_planned(bare_plan: dict) -> None:
    by = resources_by_address(bare_plan)
    fn = by[FN]
    assert not fn.get("vpc_config") and not fn.get("dead_letter_config")
    assert (fn["memory_size"], fn["timeout"], fn["reserved_concurrent_executions"]) == (128, 3, -1)
    assert sorted(_policies(bare_plan)) == ["example-execution"]
    assert not [a for a in by if "event_invoke_config" in a or "vpc_enis" in a]


def test_a_reservation_is_passed_through(root: Terraform, package: dict[str, str]) -> None:
    plan = root.plan({**package, "settings": {"reserved_concurrency": 2}})
    assert resources_by_address(plan)[FN]["reserved_concurrent_executions"] == 2


# Terraform reports every failed validation of a run: one bad value per variable in each run,
# each checked against the module argument it was passed as.
BAD_RUNS = [
    pytest.param(
        {
            "name": "f" * 60,
            "package_path": "build/lambda/etl.tar.gz",
            "handler": "etl handler",
            "settings": {"memory_size": 64},
            "environment": {"AWS_REGION": "eu-west-1"},
            "vpc": {"subnet_ids": [], "security_group_ids": ["sg-0123456789abcdef0"]},
            "failures": {"queue_arn": "arn:aws:sns:us-east-1:123456789012:topic"},
            "log": {"retention_days": 100, "kms_key_arn": KEY},
            "role": {"description": "x", "policy_prefix": "etl*"},
        },
        {
            "name": "name must be 1-59 letters, digits, hyphens or underscores",
            "package": "package.path must be the path of a .zip file",
            "handler": "handler must be a dotted Python path",
            "settings": "settings.memory_size must be a whole number of MB between 128 and 10240",
            "environment": "environment keys must be letters, digits and underscores",
            "vpc": "vpc must be null or list at least one subnet id",
            "failures": "failures.queue_arn must be the ARN of one SQS queue",
            "log": "log.retention_days must be one of the CloudWatch Logs retention values",
            "role": "role.policy_prefix must be 1-50 characters",
        },
        id="many",
    ),
    pytest.param(
        {
            "package_hash": "not-a-digest",
            "settings": {"timeout": 901},
            "failures": {"queue_arn": QUEUE, "maximum_retry_attempts": 3},
            "log": {"retention_days": 365, "kms_key_arn": "alias/logs"},
            "role": {"description": " ", "policy_prefix": "etl"},
            "vpc": {"subnet_ids": ["subnet-0123456789abcdef0"], "security_group_ids": ["default"]},
        },
        {
            "package": "package.hash must be a base64-encoded SHA-256 digest",
            "settings": "settings.timeout must be a whole number of seconds between 1 and 900",
            "failures": "failures.maximum_retry_attempts must be 0, 1 or 2",
            "log": "log.kms_key_arn must be a KMS key ARN",
            "role": "role.description must be a non-empty text",
            "vpc": "vpc must be null or list at least one subnet id",
        },
        id="more",
    ),
    pytest.param(
        {"settings": {"reserved_concurrency": 0}},
        {"settings": "settings.reserved_concurrency must be null (no reservation) or a whole number of at least 1"},
        id="reservation-zero",
    ),
    pytest.param(
        {"settings": {"reserved_concurrency": 1.5}},
        {"settings": "settings.reserved_concurrency must be null (no reservation) or a whole number of at least 1"},
        id="reservation-fraction",
    ),
]


@pytest.mark.parametrize(("bad", "expected"), BAD_RUNS)
def test_hostile_values_stop_at_plan(root: Terraform, package: dict[str, str], bad: dict, expected: dict) -> None:
    errors = validation_errors(root.plan_error({**package, **bad}))
    for argument, message in expected.items():
        assert any(message in m for m in errors.get(argument, [])), (argument, errors)
