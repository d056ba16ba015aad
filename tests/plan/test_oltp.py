"""Plan of modules/oltp/examples/basic against its inventory, plus the tier separation:
the OLTP host sits in the data tier, admits 5432 only from the app tier's group and opens
nothing but HTTPS to S3 and the endpoints, so neither analytics nor the DW has a path to it.
The host itself is modules/postgres_host (tests/plan/test_postgres_host.py); the example
boots a placeholder bundle (a plan only carries its key and hash).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from clickstream import REPO_ROOT
from clickstream.emulator import Emulator
from clickstream.terraform import Terraform
from clickstream.testing.bundles import placeholder_bundle
from clickstream.testing.plan import assert_inventory, iter_resources, resources_by_address
from clickstream.testing.security_groups import assert_no_open_ingress, instance_findings, storage_findings

pytestmark = pytest.mark.plan

INVENTORIES = Path(__file__).parent / "inventories"
EXAMPLE = REPO_ROOT / "modules/oltp/examples/basic"
HOST = "module.oltp.module.host"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return placeholder_bundle(tmp_path_factory.mktemp("bundle"), "oltp")


@pytest.fixture(scope="module")
def plan(emulator: Emulator, bundle: dict[str, str]) -> Iterator[dict]:
    with Terraform(EXAMPLE, emulator_env=emulator.env) as tf:
        yield tf.plan({"bundle": bundle})


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
    rules = [r for r in iter_resources(plan) if r["address"].startswith(f"{HOST}.aws_vpc_security_group_")]
    assert sorted(r["address"] for r in rules) == [
        f"{HOST}.aws_vpc_security_group_egress_rule.endpoints",
        f"{HOST}.aws_vpc_security_group_egress_rule.s3",
        f'{HOST}.aws_vpc_security_group_ingress_rule.postgres["app"]',
    ]
    calls = plan["configuration"]["root_module"]["module_calls"]["oltp"]["expressions"]
    assert calls["client_security_groups"]["references"] == ["aws_security_group.app.id", "aws_security_group.app"]


def test_the_bundle_is_uploaded_under_the_oltp_prefix(plan: dict, bundle: dict[str, str]) -> None:
    keys = sorted(v["key"] for a, v in resources_by_address(plan).items() if ".aws_s3_object." in a)
    assert keys == [f"oltp/bundles/oltp-{bundle['sha256']}.tar.gz"]
    user_data = plan["output_changes"]["oltp"]["after"]["user_data"]
    assert f"BUNDLE_KEY='{keys[0]}'" in user_data and "BACKUP_PREFIX='backups/oltp/'" in user_data


def test_the_oltp_host_runs_no_dashboards(plan: dict) -> None:
    after = plan["output_changes"]["oltp"]["after"]
    assert "ROLE='oltp'" in after["user_data"]
    assert "DASHBOARD_USER=''" in after["user_data"] and "SHINY_PORT=''" in after["user_data"]
    assert "shiny_port_forward_command" not in after
    assert after["status_parameter_name"] == "/clickstream-oltp/oltp/bootstrap-status"
    assert after["ca_parameter_name"] == "/clickstream-oltp/oltp/tls-ca"


def test_native_tests_pass(emulator: Emulator) -> None:
    """modules/oltp/tests/validation.tftest.hcl: the wrapper's defaults (no client, no dashboards);
    hostile values are refused by modules/postgres_host (tests/plan/test_postgres_host.py)."""
    with Terraform(REPO_ROOT / "modules/oltp", emulator_env=emulator.env) as tf:
        tf.init()
        proc = tf.run("test", "-no-color", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    match = re.search(r"Success! (\d+) passed, 0 failed", out)
    assert match and int(match.group(1)) >= 2, out


def test_volumes_and_password_use_the_module_key(plan: dict) -> None:
    """The module's CMK ARN is unknown until apply, so checkov cannot see these in any plan
    (CKV_AWS_189/CKV_AWS_337 are skipped on the module calls for that reason): the plan's
    configuration shows the references instead."""
    wrapper = plan["configuration"]["root_module"]["module_calls"]["oltp"]["module"]
    call = wrapper["module_calls"]["host"]["module"]
    config = {r["address"]: r.get("expressions", {}) for r in call["resources"]}
    refs = {
        "aws_ebs_volume.data": config["aws_ebs_volume.data"]["kms_key_id"],
        "aws_ssm_parameter.password": config["aws_ssm_parameter.password"]["key_id"],
        "aws_instance.this (root volume)": config["aws_instance.this"]["root_block_device"][0]["kms_key_id"],
    }
    for what, expr in refs.items():
        assert "local.kms_key_arn" in expr.get("references", []), f"{what}: {expr}"
    planned = resources_by_address(plan)
    assert planned[f"{HOST}.module.key[0].aws_kms_key.this"]["enable_key_rotation"] is True
    assert planned[f"{HOST}.aws_ebs_volume.data"]["encrypted"] is True
    assert planned[f"{HOST}.aws_ssm_parameter.password"]["type"] == "SecureString"
