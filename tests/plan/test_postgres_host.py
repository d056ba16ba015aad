"""Plan of modules/postgres_host/examples/existing_vpc: the host module on its own, with no
client yet, booting a (placeholder) bundle.

What a plan can show about the host's contract (docs/hosts.md): its IAM policy is exactly the
listed grants, its user data writes every host.env key with the bundle's key and hash and is
valid cloud-config, it admits nothing without clients, and what the host publishes (status,
CA) exists from the start. The validation blocks run in the module's native test file.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from clickstream import REPO_ROOT
from clickstream.emulator import Emulator
from clickstream.security.plans import PLAN_VARIABLES
from clickstream.terraform import Terraform
from clickstream.testing.bundles import placeholder_bundle
from clickstream.testing.plan import iter_resources, resources_by_address
from clickstream.testing.security_groups import assert_no_open_ingress, instance_findings, storage_findings

pytestmark = pytest.mark.plan

EXAMPLE = REPO_ROOT / "modules/postgres_host/examples/existing_vpc"
HOST = "module.host"
#: The host.env keys docs/hosts.md promises, read from its table.
DOC_KEYS = re.findall(r"^ *\| `([A-Z0-9_]+)` \|", (REPO_ROOT / "docs/hosts.md").read_text(), re.M)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return placeholder_bundle(tmp_path_factory.mktemp("bundle"), "oltp")


@pytest.fixture(scope="module")
def plan(emulator: Emulator, bundle: dict[str, str]) -> Iterator[dict]:
    variables = {**PLAN_VARIABLES["modules/postgres_host/examples/existing_vpc"], "bundle": bundle}
    with Terraform(EXAMPLE, emulator_env=emulator.env) as tf:
        yield tf.plan(variables)


def _config(plan: dict) -> dict[str, dict]:
    call = plan["configuration"]["root_module"]["module_calls"]["host"]["module"]
    return {r["address"]: r.get("expressions", {}) for r in call["resources"]}


def _leaf_references(expression: dict) -> list[str]:
    """What an expression names, without the enclosing objects Terraform lists as well
    (``var.bundle`` beside ``var.bundle.key``)."""
    refs = set(expression.get("references", []))
    return sorted(r for r in refs if not any(o.startswith(r + ".") for o in refs))


def _user_data(plan: dict) -> str:
    return plan["output_changes"]["host"]["after"]["user_data"]


def _host_env(plan: dict) -> dict[str, str]:
    files = {f["path"]: f for f in yaml.safe_load(_user_data(plan))["write_files"]}
    text = files["/etc/clickstream/host.env"]["content"]
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*='[^'\\\n]*'", ln) for ln in lines), lines
    return dict(re.fullmatch(r"([A-Z0-9_]+)='(.*)'", ln).groups() for ln in lines)


def test_host_policy_is_exactly_the_contract(plan: dict) -> None:
    """Every statement, its actions and what it names: the bundle object only (no ListBucket),
    backups under their prefix, the artifacts key via S3, its own password and key via SSM,
    and PutParameter on the status and CA parameters and nothing else.

    The document itself is unknown until apply (it names the new key and parameters), so the
    plan's configuration is read; tests/e2e/test_hosts_apply.py reads the applied document."""
    statements = _config(plan)["data.aws_iam_policy_document.host"]["statement"]
    got = {
        s["sid"]["constant_value"]: (
            sorted(s["actions"]["constant_value"]),
            _leaf_references(s["resources"]),
        )
        for s in statements
    }
    assert got == {
        "ReadOwnBundle": (["s3:GetObject"], ["var.bundle.bucket_arn", "var.bundle.key"]),
        "WriteBackups": (
            ["s3:AbortMultipartUpload", "s3:PutObject"], ["var.bundle.backup_prefix", "var.bundle.bucket_arn"],
        ),
        "ArtifactsKey": (["kms:Decrypt", "kms:GenerateDataKey"], ["var.bundle.kms_key_arn"]),
        "ReadPassword": (["ssm:GetParameter"], ["aws_ssm_parameter.password.arn"]),
        "PublishStatusAndCa": (["ssm:PutParameter"], ["aws_ssm_parameter.ca.arn", "aws_ssm_parameter.status.arn"]),
        "DecryptPassword": (["kms:Decrypt"], ["local.kms_key_arn"]),
    }
    via = {
        s["sid"]["constant_value"]: [(c["variable"]["constant_value"], c["values"]["references"])
                                     for c in s["condition"]]
        for s in statements if "condition" in s
    }
    assert via == {"ArtifactsKey": [("kms:ViaService", ["local.region"])],
                   "DecryptPassword": [("kms:ViaService", ["local.region"])]}
    attached = resources_by_address(plan)[f"{HOST}.aws_iam_role_policy_attachment.ssm_core"]
    assert attached["policy_arn"] == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


def test_host_env_has_every_documented_key_and_the_bundle(plan: dict, bundle: dict[str, str]) -> None:
    env = _host_env(plan)
    assert len(DOC_KEYS) >= 20, "docs/hosts.md's host.env table was not found"
    assert sorted(env) == sorted(DOC_KEYS)
    assert env["BUNDLE_SHA256"] == bundle["sha256"]
    assert env["BUNDLE_KEY"] == f"oltp/bundles/oltp-{bundle['sha256']}.tar.gz"
    assert env["BUCKET"] == "clickstream-host-artifacts"
    assert env["ROLE"] == "oltp" and env["DASHBOARD_USER"] == "" and env["SHINY_PORT"] == ""
    assert env["STATUS_PARAMETER"] == "/clickstream-host/oltp/bootstrap-status"
    assert env["CA_PARAMETER"] == "/clickstream-host/oltp/tls-ca"
    assert env["PASSWORD_PARAMETER"] == "/clickstream-host/oltp/shop_app/password"
    assert env["BACKUP_PREFIX"] == "backups/oltp/" and env["BACKUP_ENABLED"] == "true"


def test_user_data_only_fetches_the_bundle(plan: dict) -> None:
    """cloud-init writes host.env and the fetcher and runs it: no PostgreSQL set-up left."""
    config = yaml.safe_load(_user_data(plan))
    assert sorted(f["path"] for f in config["write_files"]) == [
        "/etc/clickstream/host.env", "/usr/local/sbin/clickstream-fetch-bundle",
    ]
    assert config["runcmd"] == [["/usr/local/sbin/clickstream-fetch-bundle"]]
    fetch = next(f for f in config["write_files"] if f["path"].endswith("fetch-bundle"))
    assert fetch["permissions"] == "0755"
    assert fetch["content"] == (REPO_ROOT / "modules/postgres_host/files/clickstream-fetch-bundle").read_text()
    for word in ("dnf ", "psql", "initdb", "postgresql-setup", "pip "):
        assert word not in _user_data(plan), word


def test_rendered_user_data_passes_cloud_init_schema(plan: dict, tmp_path: Path) -> None:
    cloud_init = shutil.which("cloud-init")
    assert cloud_init, "`cloud-init` is missing: install the Debian package cloud-init (scripts/install_system_deps.sh)"
    path = tmp_path / "user-data.yaml"
    path.write_text(_user_data(plan))
    proc = subprocess.run([cloud_init, "schema", "--config-file", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Valid" in proc.stdout


def test_no_client_means_no_ingress(plan: dict) -> None:
    rules = [r for r in iter_resources(plan) if r["address"].startswith(f"{HOST}.aws_vpc_security_group_")]
    assert sorted(r["address"] for r in rules) == [
        f"{HOST}.aws_vpc_security_group_egress_rule.endpoints",
        f"{HOST}.aws_vpc_security_group_egress_rule.s3",
    ]
    assert all(r["values"]["from_port"] == 443 and r["values"]["cidr_ipv4"] is None for r in rules)
    assert_no_open_ingress(plan)
    assert instance_findings(plan) == []
    assert storage_findings(plan) == []


def test_status_and_ca_parameters_exist_before_the_host_writes_them(plan: dict) -> None:
    planned = resources_by_address(plan)
    for name, path in (("status", "bootstrap-status"), ("ca", "tls-ca")):
        param = planned[f"{HOST}.aws_ssm_parameter.{name}"]
        assert param["name"] == f"/clickstream-host/oltp/{path}"
        assert (param["type"], param["insecure_value"]) == ("String", "pending")
    # The instance waits for them: a host that wrote first would make their creation fail.
    call = plan["configuration"]["root_module"]["module_calls"]["host"]["module"]
    instance = next(r for r in call["resources"] if r["address"] == "aws_instance.this")
    assert {"aws_ssm_parameter.status", "aws_ssm_parameter.ca"} <= set(instance["depends_on"])


def test_bundle_is_uploaded_under_its_content_key(plan: dict, bundle: dict[str, str]) -> None:
    objects = {a: v for a, v in resources_by_address(plan).items() if ".aws_s3_object." in a}
    key = f"oltp/bundles/oltp-{bundle['sha256']}.tar.gz"
    assert list(objects) == [f'module.artifacts.aws_s3_object.this["{key}"]']
    assert objects[f'module.artifacts.aws_s3_object.this["{key}"]']["server_side_encryption"] == "aws:kms"


def test_volumes_and_password_use_the_host_key(plan: dict) -> None:
    """The host key's ARN is unknown until apply, so checkov cannot see it in any plan
    (CKV_AWS_189/CKV_AWS_337 are skipped on the module calls for that reason): the plan's
    configuration shows the references instead."""
    config = _config(plan)
    refs = {
        "aws_ebs_volume.data": config["aws_ebs_volume.data"]["kms_key_id"],
        "aws_ssm_parameter.password": config["aws_ssm_parameter.password"]["key_id"],
        "aws_instance.this (root volume)": config["aws_instance.this"]["root_block_device"][0]["kms_key_id"],
    }
    for what, expr in refs.items():
        assert "local.kms_key_arn" in expr.get("references", []), f"{what}: {expr}"
    planned = resources_by_address(plan)
    assert planned[f"{HOST}.module.key[0].aws_kms_key.this"]["enable_key_rotation"] is True
    assert planned[f"{HOST}.aws_ssm_parameter.password"]["type"] == "SecureString"


def test_validation_rejects_hostile_inputs(emulator: Emulator) -> None:
    """modules/postgres_host/tests/validation.tftest.hcl: one run per hostile value."""
    with Terraform(REPO_ROOT / "modules/postgres_host", emulator_env=emulator.env) as tf:
        tf.init()
        proc = tf.run("test", "-no-color", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    match = re.search(r"Success! (\d+) passed, 0 failed", out)
    assert match and int(match.group(1)) >= 20, out
