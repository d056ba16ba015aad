"""Plan of modules/warehouse/examples/basic (with modules/artifacts) against its inventory.

The warehouse is a wrapper of modules/postgres_host (tests/plan/test_postgres_host.py has the
host's own contract); here: the warehouse as the platform composes it, booting a placeholder
bundle (a plan only carries its key and hash). One plan per module run (about 20 s) is shared
by every assertion; the wrapper's validation runs in its native ``terraform test`` file,
against the emulator because ephemeral resources (the generated password) cannot be mocked.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from clickstream import REPO_ROOT
from clickstream.emulator import Emulator
from clickstream.terraform import Terraform
from clickstream.testing.bundles import placeholder_bundle
from clickstream.testing.plan import assert_inventory, iter_resources, resources_by_address
from clickstream.testing.security_groups import (
    assert_no_open_ingress,
    instance_findings,
    iter_ingress_rules,
    storage_findings,
)

pytestmark = pytest.mark.plan

INVENTORIES = Path(__file__).parent / "inventories"
EXAMPLE = REPO_ROOT / "modules/warehouse/examples/basic"
HOST = "module.warehouse.module.host"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return placeholder_bundle(tmp_path_factory.mktemp("bundle"), "warehouse")


@pytest.fixture(scope="module")
def plan(emulator: Emulator, bundle: dict[str, str]) -> Iterator[dict]:
    with Terraform(EXAMPLE, emulator_env=emulator.env) as tf:
        yield tf.plan({"bundle": bundle})


def test_plan_matches_inventory(plan: dict) -> None:
    assert_inventory(plan, INVENTORIES / "warehouse_basic.yaml")


def test_the_bundle_is_uploaded_under_its_content_key(plan: dict, bundle: dict[str, str]) -> None:
    by_addr = resources_by_address(plan)
    objects = [a for a in by_addr if a.startswith("module.artifacts.aws_s3_object.this[")]
    key = f"dw/bundles/warehouse-{bundle['sha256']}.tar.gz"
    assert objects == [f'module.artifacts.aws_s3_object.this["{key}"]']
    obj = by_addr[objects[0]]
    assert obj["source_hash"] == hashlib.md5(Path(bundle["path"]).read_bytes()).hexdigest()  # noqa: S324 - S3's
    assert obj["server_side_encryption"] == "aws:kms"


def test_no_public_ip_imdsv2_and_encrypted_storage(plan: dict) -> None:
    assert instance_findings(plan) == []
    assert storage_findings(plan) == []


def test_no_security_group_admits_the_internet(plan: dict) -> None:
    assert_no_open_ingress(plan)


def test_warehouse_security_group_rules_are_exactly_as_designed(plan: dict) -> None:
    """One ingress (5432 from a referenced group) and two egress rules (443 to S3 and endpoints)."""
    wh = [r for r in iter_resources(plan) if r["address"].startswith(f"{HOST}.aws_vpc_security_group")]
    ingress = [r for r in wh if r["type"] == "aws_vpc_security_group_ingress_rule"]
    egress = [r for r in wh if r["type"] == "aws_vpc_security_group_egress_rule"]
    assert [(r["values"]["from_port"], r["values"]["to_port"]) for r in ingress] == [(5432, 5432)]
    assert sorted((r["values"]["from_port"], r["values"]["ip_protocol"]) for r in egress) == [(443, "tcp")] * 2
    # The targets are unknown until apply; the plan must still show them being set (never a CIDR).
    changes = {c["address"]: c["change"] for c in plan["resource_changes"]}
    pg = changes[f'{HOST}.aws_vpc_security_group_ingress_rule.postgres["etl"]']
    assert pg["after_unknown"].get("referenced_security_group_id") is True
    assert changes[f"{HOST}.aws_vpc_security_group_egress_rule.s3"]["after_unknown"].get("prefix_list_id")
    endpoints = changes[f"{HOST}.aws_vpc_security_group_egress_rule.endpoints"]["after_unknown"]
    assert endpoints.get("referenced_security_group_id") is True
    # And no rule anywhere in the plan admits 5432 from a CIDR.
    assert not [r for r in iter_ingress_rules(plan) if r.from_port == 5432 and r.cidrs]


def test_host_gets_no_inline_secret(plan: dict) -> None:
    """The password is write-only: nothing in the plan carries a value for it."""
    param = resources_by_address(plan)[f"{HOST}.aws_ssm_parameter.password"]
    assert param.get("value") in (None, "")
    assert param.get("value_wo") in (None, "")
    # The only trace is the write-only flag and its version (bump it to rotate).
    assert param["value_wo_version"] == 1
    assert "value_wo" not in json.dumps(plan["planned_values"]["outputs"])


def test_user_data_is_known_at_plan_and_boots_the_bundle(plan: dict, bundle: dict[str, str]) -> None:
    after = plan["output_changes"]["warehouse"]["after"]
    user_data = after["user_data"]
    assert user_data.startswith("#cloud-config\n")
    assert "BUCKET='clickstream-ex-artifacts'" in user_data
    assert "PASSWORD_PARAMETER='/clickstream-ex/dw/dw_admin/password'" in user_data
    assert f"BUNDLE_KEY='dw/bundles/warehouse-{bundle['sha256']}.tar.gz'" in user_data
    assert f"BUNDLE_SHA256='{bundle['sha256']}'" in user_data
    assert after["password_parameter_name"] == "/clickstream-ex/dw/dw_admin/password"


def test_the_warehouse_runs_its_dashboards_and_publishes_its_ca(plan: dict) -> None:
    """What the wrapper adds to the host: the dashboards' login and port, and the CA parameter
    the ETL will verify the server with."""
    after = plan["output_changes"]["warehouse"]["after"]
    assert "ROLE='warehouse'" in after["user_data"]
    assert "DASHBOARD_USER='shiny'" in after["user_data"] and "SHINY_PORT='8080'" in after["user_data"]
    assert after["ca_parameter_name"] == "/clickstream-ex/dw/tls-ca"
    assert after["status_parameter_name"] == "/clickstream-ex/dw/bootstrap-status"
    assert after["bootstrap_status_command"] == (
        "aws ssm get-parameter --region us-east-1 --name /clickstream-ex/dw/bootstrap-status "
        "--query Parameter.Value --output text"
    )
    # ca_parameter_arn and the port-forward command name resources created by the apply.
    assert plan["output_changes"]["warehouse"]["after_unknown"]["ca_parameter_arn"] is True
    assert plan["output_changes"]["warehouse"]["after_unknown"]["shiny_port_forward_command"] is True


def test_validation_rejects_hostile_inputs(emulator: Emulator) -> None:
    """modules/warehouse/tests/validation.tftest.hcl: the wrapper's defaults and refusals."""
    with Terraform(REPO_ROOT / "modules/warehouse", emulator_env=emulator.env) as tf:
        tf.init()
        proc = tf.run("test", "-no-color", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert re.search(r"Success! (\d+) passed, 0 failed", out), out
    assert int(re.search(r"Success! (\d+) passed", out).group(1)) >= 4


def test_volumes_and_password_use_the_module_key(plan: dict) -> None:
    """The module's CMK ARN is unknown until apply, so checkov cannot see these in any plan
    (CKV_AWS_189/CKV_AWS_337 are skipped on the module calls for that reason): the plan's
    configuration shows the references instead."""
    wrapper = plan["configuration"]["root_module"]["module_calls"]["warehouse"]["module"]
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
