"""The preflight's decisions and its reading of the envs, without an account.

The concurrency rule is a pure function (AWS keeps min(100, quota) unreserved, so a new
account's quota of 10 admits no reservation); the env reading is checked against the real
envs, and what the preflight assumes about the modules (function and pool names, the AMI
parameter, the hosts' zone) against their sources, so a change there fails here first.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from clickstream import REPO_ROOT
from clickstream import preflight as pf
from clickstream.tfvars import parse_file

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("quota", "unreserved", "own", "requested", "ok", "needed"), [
    (10, 10, 0, {"ingest": None, "etl": None}, True, None),   # new account, nothing reserved: fine
    (10, 10, 0, {"ingest": None, "etl": 1}, False, 101),      # new account: any reservation fails
    (50, 50, 0, {"ingest": 1, "etl": None}, False, 101),      # the floor is the whole quota below 100
    (1000, 1000, 0, {"ingest": 20, "etl": 1}, True, None),
    (1000, 150, 0, {"ingest": 60, "etl": None}, False, 1010),  # others hold 850
    (1000, 880, 20, {"ingest": 20, "etl": None}, True, None),  # re-apply: our own 20 is given back
    (1000, 120, 0, {"ingest": 20, "etl": None}, True, None),   # exactly 100 left
    (1000, 120, 0, {"ingest": 21, "etl": None}, False, 1001),
])
def test_concurrency_verdict(quota, unreserved, own, requested, ok, needed) -> None:
    verdict = pf.concurrency_verdict(quota, unreserved, own, requested)
    assert (verdict.ok, verdict.needed_quota) == (ok, needed), verdict.detail


def test_dev_is_read_from_its_tfvars_and_main_tf() -> None:
    env = pf.load_env("dev")
    assert (env.prefix, env.region, env.availability_zones) == ("clickstream-dev", "eu-central-1",
                                                                ["eu-central-1a", "eu-central-1b"])
    assert env.reservations == {"ingest": None, "etl": None}
    assert env.where["reservation.ingest"] == "lambda_reserved_concurrency.ingest"
    assert env.where["availability_zones"] == "availability_zones"
    assert env.amis == [{"kind": "parameter", "name": pf.AMI_PARAMETER}]
    assert env.instance_types == {"sizes.warehouse_instance_type": "t3.large", "sizes.oltp_instance_type": "t3.medium"}
    assert env.git_token_parameter == "/clickstream-dev/amplify/git-token"
    assert env.cognito_domain == "clickstream-dev-shop"
    assert env.backend["type"] == "s3" and env.backend["config_file"] == REPO_ROOT / "envs/dev/backend.hcl"
    assert env.problems == []


def test_prod_pins_its_ami_and_local_derives_its_zones_and_looks_its_image_up() -> None:
    prod = pf.load_env("prod")
    assert prod.amis == [{"kind": "id", "id": "ami-0a1b2c3d4e5f60718"}]
    assert len(prod.availability_zones) == 3
    local = pf.load_env("local")
    assert local.availability_zones == ["us-east-1a", "us-east-1b"]  # local.azs, from var.region
    assert local.prefix == "clickstream-local" and local.backend is None and local.git_token_parameter is None
    (lookup,) = local.amis
    assert lookup["kind"] == "lookup" and lookup["owners"] == ["amazon"]
    assert set(local.instance_types.values()) == {"t3.medium"}


def _copy_env(tmp_path: Path, env: str) -> Path:
    shutil.copytree(REPO_ROOT / "envs" / env, tmp_path / "envs" / env)
    return tmp_path


def test_a_setting_read_from_the_tfvars_follows_the_file(tmp_path: Path) -> None:
    root = _copy_env(tmp_path, "dev")
    tfvars = root / "envs/dev/terraform.tfvars"
    tfvars.write_text(tfvars.read_text().replace("{ ingest = null, etl = null }", "{ ingest = 5, etl = 1 }"))
    assert pf.load_env("dev", root).reservations == {"ingest": 5, "etl": 1}


def test_a_computed_setting_is_named_not_guessed(tmp_path: Path) -> None:
    root = _copy_env(tmp_path, "dev")
    main = root / "envs/dev/main.tf"
    main.write_text(main.read_text().replace("azs       = var.availability_zones",
                                             "azs       = slice(var.availability_zones, 0, 2)"))
    env = pf.load_env("dev", root)
    check = pf.check_env_readable(env)
    assert check.ok is False and "slice(var.availability_zones, 0, 2)" in check.detail


def test_local_without_an_emulator_endpoint_is_refused_before_any_aws_call() -> None:
    env = pf.load_env("local")
    checks = pf.run_checks(env, session=object(), environ={})  # a session that would fail if used
    target = next(c for c in checks if c.name == "target")
    assert target.ok is False and "AWS_ENDPOINT_URL" in target.detail
    assert [c.ok for c in checks if c.name in pf.NOT_RUN] == [None] * len(pf.NOT_RUN)
    result = pf.report(env, checks)
    assert result.status == pf.EXIT_REFUSED and "what to do: export AWS_ENDPOINT_URL" in result.refusal


def test_packages_must_exist_and_match_their_hash(tmp_path: Path) -> None:
    env = pf.load_env("dev")
    build = tmp_path / "build"
    build.mkdir()
    (build / "ingest.zip").write_bytes(b"zip")
    (build / "ingest.zip.b64sha256").write_text(pf.b64sha256(b"zip") + "\n")
    (build / "etl.zip").write_bytes(b"new")
    (build / "etl.zip.b64sha256").write_text(pf.b64sha256(b"old") + "\n")
    env.packages = {"ingest": (build / "ingest.zip", None), "etl": (build / "etl.zip", None)}
    check = pf.check_packages(env)
    assert check.ok is False and "etl.zip: hash" in check.detail and "ingest" not in check.detail
    assert "make build" in check.fix
    (build / "etl.zip.b64sha256").write_text(pf.b64sha256(b"new"))
    assert pf.check_packages(env).ok is True
    env.packages["etl"] = (build / "missing.zip", None)
    assert "missing.zip is missing" in pf.check_packages(env).detail


def test_report_lists_every_check_and_every_failure_with_its_fix() -> None:
    env = pf.load_env("dev")
    checks = [pf.Check("a", True, "fine"), pf.Check("b", False, "broken", "do this"), pf.Check("c", None, "not run")]
    result = pf.report(env, checks)
    assert result.status == pf.EXIT_REFUSED
    assert re.search(r"^  a +ok +fine$", result.table, re.M) and re.search(r"^  b +FAIL +broken$", result.table, re.M)
    assert "1 check(s) fail" in result.refusal and "  - b: broken\n    what to do: do this" in result.refusal
    assert pf.report(env, [checks[0]]).status == pf.EXIT_OK


def test_unknown_env_is_refused() -> None:
    with pytest.raises(pf.PreflightError, match="ENV must be one of dev, prod, local"):
        pf.load_env("staging")
    assert pf.main(["--env", "../envs/dev"]) == pf.EXIT_REFUSED


# -- what the preflight assumes about the modules and envs, checked against their source ------


def test_the_ami_parameter_is_the_host_modules_default() -> None:
    """Both hosts take their image from modules/postgres_host, whose default the preflight checks."""
    text = (REPO_ROOT / "modules/postgres_host/variables.tf").read_text()
    assert f'ssm_parameter_name = optional(string, "{pf.AMI_PARAMETER}")' in text
    for module in ("warehouse", "oltp"):
        assert 'source = "../postgres_host"' in (REPO_ROOT / "modules" / module / "main.tf").read_text(), module


def test_function_and_user_pool_names_are_the_modules() -> None:
    assert 'function_name = "${var.name}-ingest"' in (REPO_ROOT / "modules/ingest/main.tf").read_text()
    assert 'function_name = "${var.name}-etl"' in (REPO_ROOT / "modules/etl/main.tf").read_text()
    assert 'name                     = "${var.name}-shop"' in (REPO_ROOT / "modules/frontend/main.tf").read_text()
    assert pf.FUNCTIONS == ("ingest", "etl")


@pytest.mark.parametrize("env", pf.ENVS)
def test_both_hosts_run_in_the_first_zone(env: str) -> None:
    """check_instance_types looks in availability_zones[0] because that is where the envs put
    both hosts."""
    blocks = parse_file(REPO_ROOT / "envs" / env / "main.tf").blocks
    for host in ("warehouse", "oltp"):
        (call,) = [b for b in blocks if b.type == "module" and b.labels == [host]]
        assert call.body.attributes["availability_zone"].text == "local.azs[0]", (env, host)
        assert call.body.attributes["ami"]["id"].text in ("var.ami_id", "local.ami_id"), (env, host)
