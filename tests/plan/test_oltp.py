"""Plan of modules/oltp/examples/basic against its inventory, plus the tier separation:
the OLTP host sits in the data tier, admits 5432 only from the app tier's group and opens
nothing but HTTPS to S3 and the endpoints, so neither analytics nor the DW has a path to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from clickstream import REPO_ROOT
from clickstream.emulator import Emulator
from clickstream.terraform import Terraform
from clickstream.testing.plan import assert_inventory, iter_resources, resources_by_address
from clickstream.testing.security_groups import assert_no_open_ingress, instance_findings, storage_findings

pytestmark = pytest.mark.plan

INVENTORIES = Path(__file__).parent / "inventories"
EXAMPLE = REPO_ROOT / "modules/oltp/examples/basic"
MIGRATIONS = sorted(p for p in (REPO_ROOT / "sql/oltp").glob("*.sql"))


@pytest.fixture(scope="module")
def plan(emulator: Emulator) -> Iterator[dict]:
    artifacts = {f"oltp/migrations/{p.name}": {"source": str(p), "content_type": "text/plain"} for p in MIGRATIONS}
    with Terraform(EXAMPLE, emulator_env=emulator.env) as tf:
        yield tf.plan({"artifacts": artifacts})


def test_plan_matches_inventory(plan: dict) -> None:
    assert_inventory(plan, INVENTORIES / "oltp_basic.yaml")


def test_oltp_host_lives_in_the_data_tier(plan: dict) -> None:
    """The subnet reference resolves to the network's data subnets, not the analytics ones."""
    calls = plan["configuration"]["root_module"]["module_calls"]["oltp"]["expressions"]
    assert "module.network.data_subnet_ids" in calls["subnet_id"]["references"]


def test_hardening_and_no_open_ingress(plan: dict) -> None:
    assert instance_findings(plan) == []
    assert storage_findings(plan) == []
    assert_no_open_ingress(plan)


def test_only_the_app_tier_reaches_postgres(plan: dict) -> None:
    rules = [r for r in iter_resources(plan) if r["address"].startswith("module.oltp.aws_vpc_security_group_")]
    assert sorted(r["address"] for r in rules) == [
        "module.oltp.aws_vpc_security_group_egress_rule.endpoints",
        "module.oltp.aws_vpc_security_group_egress_rule.s3",
        'module.oltp.aws_vpc_security_group_ingress_rule.postgres["app"]',
    ]
    calls = plan["configuration"]["root_module"]["module_calls"]["oltp"]["expressions"]
    assert calls["client_security_groups"]["references"] == ["aws_security_group.app.id", "aws_security_group.app"]


def test_migrations_are_uploaded_under_the_oltp_prefix(plan: dict) -> None:
    keys = sorted(v["key"] for a, v in resources_by_address(plan).items() if ".aws_s3_object." in a)
    assert keys == [f"oltp/migrations/{p.name}" for p in MIGRATIONS]
    user_data = plan["output_changes"]["oltp"]["after"]["user_data"]
    assert "PREFIX='oltp/'" in user_data and "BACKUP_PREFIX='backups/oltp/'" in user_data


def test_validation_rejects_hostile_inputs(emulator: Emulator) -> None:
    """modules/oltp/tests/validation.tftest.hcl: one run per hostile value."""
    with Terraform(REPO_ROOT / "modules/oltp", emulator_env=emulator.env) as tf:
        tf.init()
        proc = tf.run("test", "-no-color", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    match = re.search(r"Success! (\d+) passed, 0 failed", out)
    assert match and int(match.group(1)) >= 5, out


def test_volumes_and_password_use_the_module_key(plan: dict) -> None:
    """The module's CMK ARN is unknown until apply, so checkov cannot see these in any plan
    (CKV_AWS_189/CKV_AWS_337 are skipped on the module calls for that reason): the plan's
    configuration shows the references instead."""
    call = plan["configuration"]["root_module"]["module_calls"]["oltp"]["module"]
    config = {r["address"]: r.get("expressions", {}) for r in call["resources"]}
    refs = {
        "aws_ebs_volume.data": config["aws_ebs_volume.data"]["kms_key_id"],
        "aws_ssm_parameter.password": config["aws_ssm_parameter.password"]["key_id"],
        "aws_instance.this (root volume)": config["aws_instance.this"]["root_block_device"][0]["kms_key_id"],
    }
    for what, expr in refs.items():
        assert "local.kms_key_arn" in expr.get("references", []), f"{what}: {expr}"
    planned = resources_by_address(plan)
    assert planned["module.oltp.aws_kms_key.this[0]"]["enable_key_rotation"] is True
    assert planned["module.oltp.aws_ebs_volume.data"]["encrypted"] is True
    assert planned["module.oltp.aws_ssm_parameter.password"]["type"] == "SecureString"
