"""Plan tests of modules/platform through its example (examples/basic, with its own
terraform.tfvars): the composition without a front end and with alarms on, the one alarm key
policy every env now gets, and the typed inputs refusing hostile values at plan time with a
message naming the setting.

The envs' plans (tests/plan/test_envs.py) cover the platform as dev, prod and local call it;
this file covers what only the example shows (no front end outside the emulator, partial
objects taking the platform's defaults) and the validations.
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
from clickstream.testing.bundles import placeholder_bundles
from clickstream.testing.plan import assert_inventory, resources_by_address, validation_errors

pytestmark = pytest.mark.plan

INVENTORIES = Path(__file__).parent / "inventories"
EXAMPLE = REPO_ROOT / "modules" / "platform" / "examples" / "basic"
P = "module.platform"
#: The 22 administrative actions of a key policy: no kms:* and no cryptographic use.
ADMIN_ACTIONS = sorted(f"kms:{a}" for a in (
    "CancelKeyDeletion", "CreateAlias", "DeleteAlias", "DescribeKey", "DisableKey", "DisableKeyRotation",
    "EnableKey", "EnableKeyRotation", "GetKeyPolicy", "GetKeyRotationStatus", "ListGrants", "ListKeyPolicies",
    "ListKeyRotations", "ListResourceTags", "PutKeyPolicy", "RevokeGrant", "RotateKeyOnDemand",
    "ScheduleKeyDeletion", "TagResource", "UntagResource", "UpdateAlias", "UpdateKeyDescription",
))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The builds the example reads (zips, placeholder host bundles), passed explicitly: the
    settings themselves come from the example's terraform.tfvars."""
    ingest, etl, batcher = build_lambda("ingest"), build_lambda("etl"), build_lambda("batcher")
    return {
        "ingest_package_path": str(ingest[0]), "ingest_package_hash": ingest[1],
        "etl_package_path": str(etl[0]), "etl_package_hash": etl[1],
        "batcher_package_path": str(batcher[0]), "batcher_package_hash": batcher[1],
        "host_bundles": placeholder_bundles(tmp_path_factory.mktemp("bundles")),
    }


@pytest.fixture(scope="module")
def root(emulator: Emulator) -> Iterator[Terraform]:
    with Terraform(EXAMPLE, emulator_env=emulator.env) as tf:
        yield tf


@pytest.fixture(scope="module")
def plan(root: Terraform, inputs: dict) -> dict:
    return root.plan(inputs)


def test_inventory(plan: dict) -> None:
    assert_inventory(plan, INVENTORIES / "platform_basic.yaml")


def test_partial_objects_keep_the_platforms_defaults(plan: dict) -> None:
    """The tfvars set the warehouse's size and the dumps' retention only: the OLTP host, the
    ETL memory and the log retention are the platform's defaults."""
    by = resources_by_address(plan)
    oltp = by[f"{P}.module.oltp.module.host.aws_instance.this"]
    assert (oltp["instance_type"], oltp["monitoring"]) == ("t3.medium", True)
    assert by[f"{P}.module.oltp.module.host.aws_ebs_volume.data"]["size"] == 20
    assert by[f"{P}.module.etl.module.function.aws_lambda_function.this"]["memory_size"] == 2304
    assert by[f"{P}.module.ingest.module.function.aws_cloudwatch_log_group.this"]["retention_in_days"] == 365
    rules = by[f"{P}.module.artifacts.module.bucket.aws_s3_bucket_lifecycle_configuration.this"]["rule"]
    assert next(r["expiration"][0]["days"] for r in rules if r["id"] == "expire-backups") == 14


def test_alarm_key_policy_lists_admin_actions_and_binds_cloudwatch_to_the_account(plan: dict) -> None:
    """One key policy for every env (dev's used to grant kms:*): the account administers
    with the listed actions only, CloudWatch may only encrypt for alarms of this account."""
    key = resources_by_address(plan)[f"{P}.module.alarms_key[0].aws_kms_key.this"]
    assert key["enable_key_rotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}
    assert sorted(statements) == ["CloudWatchAlarmsOfThisAccountPublish", "KeyAdministration"]
    admin = statements["KeyAdministration"]
    cloudwatch = statements["CloudWatchAlarmsOfThisAccountPublish"]
    assert sorted(admin["Action"]) == ADMIN_ACTIONS
    assert admin["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert sorted(cloudwatch["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert all(s["Effect"] == "Allow" for s in statements.values())


def test_alarms_reach_the_topic_from_the_hosts_the_etl_and_the_buffer(plan: dict) -> None:
    by = resources_by_address(plan)
    assert by[f"{P}.aws_sns_topic_subscription.email[0]"]["endpoint"] == "oncall@example.com"
    for host in ("warehouse", "oltp"):
        alarm = by[f'{P}.aws_cloudwatch_metric_alarm.host_status["{host}"]']
        assert (alarm["metric_name"], alarm["treat_missing_data"]) == ("StatusCheckFailed", "breaching")
    calls = plan["configuration"]["root_module"]["module_calls"]["platform"]["module"]
    for module in ("etl", "ingest"):
        actions = calls["module_calls"][module]["expressions"]["alarm_actions"]["references"]
        assert "local.alarm_actions" in actions, module
    buffer_alarms = [a for a in by if a.startswith(f"{P}.module.ingest.aws_cloudwatch_metric_alarm.buffer")]
    assert len(buffer_alarms) == 3


def test_the_batcher_runs_the_built_zip_and_the_mapping_is_on_outside_the_emulator(plan: dict, inputs: dict) -> None:
    by = resources_by_address(plan)
    fn = by[f"{P}.module.ingest.module.batcher_function[0].aws_lambda_function.this"]
    assert (fn["filename"], fn["source_code_hash"]) == (inputs["batcher_package_path"], inputs["batcher_package_hash"])
    assert by[f"{P}.module.ingest.aws_lambda_event_source_mapping.buffer[0]"]["enabled"] is True
    assert fn["function_name"] == "clickstream-example-batcher"


def test_no_front_end_outside_the_emulator(plan: dict) -> None:
    assert not [a for a in resources_by_address(plan) if a.startswith(f"{P}.module.frontend")]
    assert plan["planned_values"]["outputs"]["etl_role_name"]["value"] == "clickstream-example-etl-role"


def test_a_zip_given_without_its_hash_is_hashed_from_beside_it(root: Terraform, inputs: dict,
                                                             tmp_path: Path) -> None:
    """packages.<fn>.hash null reads <path>.b64sha256 next to the given zip (as `make build`
    writes it and the preflight checks it), not the default build's hash file."""
    zip_path = tmp_path / "elsewhere" / "ingest.zip"
    zip_path.parent.mkdir()
    zip_path.write_bytes(Path(inputs["ingest_package_path"]).read_bytes())
    marker = "A" * 43 + "="  # not the zip's hash: proves which file was read
    zip_path.with_name("ingest.zip.b64sha256").write_text(marker + "\n")
    plan = root.plan({**inputs, "ingest_package_path": str(zip_path), "ingest_package_hash": None})
    fn = resources_by_address(plan)[f"{P}.module.ingest.module.function.aws_lambda_function.this"]
    assert (fn["filename"], fn["source_code_hash"]) == (str(zip_path), marker)


#: Hostile values, each with the variable Terraform must name and a piece of its message.
CASES = [
    ({"retention": {"log_days": -1}}, "retention", "retention.log_days must be a positive whole number"),
    ({"sizes": {"warehouse_instance_type": "huge"}}, "sizes", "must be EC2 instance types, family.size"),
    ({"network": {"vpc_cidr": "10.0.0.0/8"}}, "network", "network.vpc_cidr must be an IPv4 CIDR from /16 to /20"),
    ({"name": "Clickstream_Example"}, "name", "name must be 3-32 characters of lower-case letters"),
    ({"alarms": {"email": "oncall@example.com"}}, "alarms", "alarms.email needs alarms.enabled = true"),
    ({"lambda_reserved_concurrency": {"etl": 0}}, "lambda_reserved_concurrency",
     "lambda_reserved_concurrency.ingest and .etl must each be null"),
    ({"batcher_package_path": "build/lambda/batcher.tar"}, "packages",
     "packages.<fn>.path must be null (build/lambda/<fn>.zip) or the path of a .zip file"),
]


def test_hostile_values_are_refused_each_with_its_message(root: Terraform, inputs: dict) -> None:
    """All cases in one plan (Terraform reports every failed validation): each argument gets
    its own message and nothing else fails."""
    variables = dict(inputs)
    for case, _, _ in CASES:
        variables.update(case)
    found = validation_errors(root.plan_error(variables))
    assert set(found) == {arg for _, arg, _ in CASES}, found
    for _, arg, message in CASES:
        assert any(message in m for m in found[arg]), (arg, found[arg])


def test_more_hostile_values(root: Terraform, inputs: dict) -> None:
    """One zone, a fractional volume and a front end in the emulator (which has no Amplify)."""
    frontend = {"repository": "https://github.com/example/shop", "access_token_parameter_name": "/x/token",
                "callback_urls": ["https://shop.example.com/cb"]}
    found = validation_errors(root.plan_error({
        **inputs, "availability_zones": ["eu-west-1a"], "sizes": {"oltp_data_gib": 20.5},
        "emulator": True, "frontend": frontend,
    }))
    assert set(found) == {"network", "sizes", "frontend"}, found
    assert any("at least two distinct zone names" in m for m in found["network"]), found
    assert any("must be positive whole numbers" in m for m in found["sizes"]), found
    assert any("frontend must be null with emulator = true" in m for m in found["frontend"]), found
