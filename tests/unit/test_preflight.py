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
    # envs/aws passes null paths: the zips make build writes, the batcher's among them.
    assert env.packages == {fn: (REPO_ROOT / "build" / "lambda" / f"{fn}.zip", None)
                            for fn in ("ingest", "etl", "batcher")}
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
    """A repository root with env ``env``'s folder, the account root it is planned from, and the platform."""
    for folder in {env, "aws"}:
        shutil.copytree(REPO_ROOT / "envs" / folder, tmp_path / "envs" / folder, symlinks=True)
    shutil.copytree(REPO_ROOT / pf.PLATFORM, tmp_path / pf.PLATFORM)
    return tmp_path


def test_a_setting_read_from_the_tfvars_follows_the_file(tmp_path: Path) -> None:
    root = _copy_env(tmp_path, "dev")
    tfvars = root / "envs/dev/terraform.tfvars"
    tfvars.write_text(tfvars.read_text().replace("{ ingest = null, etl = null }", "{ ingest = 5, etl = 1 }"))
    assert pf.load_env("dev", root).reservations == {"ingest": 5, "etl": 1}


def test_a_computed_setting_is_named_not_guessed(tmp_path: Path) -> None:
    root = _copy_env(tmp_path, "dev")
    main = root / "envs/aws/main.tf"
    text = main.read_text()
    assert "availability_zones = var.availability_zones" in text
    main.write_text(text.replace("availability_zones = var.availability_zones",
                                 "availability_zones = slice(var.availability_zones, 0, 2)"))
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


def test_an_env_without_the_platform_module_is_refused(tmp_path: Path) -> None:
    """Without modules/platform the defaults the env leaves to it are unknown: refused, not guessed."""
    for folder in ("dev", "aws"):
        shutil.copytree(REPO_ROOT / "envs" / folder, tmp_path / "envs" / folder)
    with pytest.raises(pf.PreflightError, match="modules/platform"):
        pf.load_env("dev", tmp_path)


def test_unknown_env_is_refused() -> None:
    with pytest.raises(pf.PreflightError, match="ENV must be one of dev, local, prod"):
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
    assert 'batcher_name   = "${var.name}-batcher"' in (REPO_ROOT / "modules/ingest/buffer.tf").read_text()
    assert pf.PACKAGES == ("ingest", "etl", "batcher")


def _platform_calls() -> dict[str, dict]:
    blocks = [b for tf in sorted((REPO_ROOT / pf.PLATFORM).glob("*.tf")) for b in parse_file(tf).blocks]
    return {b.labels[0]: b.body.attributes for b in blocks if b.type == "module"}


def _local(name: str) -> str:
    blocks = [b for tf in sorted((REPO_ROOT / pf.PLATFORM).glob("*.tf")) for b in parse_file(tf).blocks]
    (value,) = [b.body.attributes[name] for b in blocks if b.type == "locals" and name in b.body.attributes]
    return value.text


def test_both_hosts_run_in_the_first_zone() -> None:
    """check_instance_types looks in availability_zones[0] because that is where the platform
    puts both hosts (and their subnets), with the image check_ami reads."""
    calls = _platform_calls()
    assert _local("host_zone") == "var.network.availability_zones[0]"
    assert _local("ami_id").startswith("var.ami_id != null ? var.ami_id : one(data.aws_ami.amazon_linux")
    for host in ("warehouse", "oltp"):
        assert calls[host]["availability_zone"].text == "local.host_zone", host
        assert calls[host]["subnet_id"].text.endswith("[local.host_zone]"), host
        assert calls[host]["ami"]["id"].text == "local.ami_id", host
        assert calls[host]["instance_type"].text == f"var.sizes.{host}_instance_type", host


def test_the_platform_passes_its_inputs_where_the_preflight_looks() -> None:
    """The preflight reads the platform's inputs (name, lambda_reserved_concurrency, frontend)
    and assumes how modules/platform hands them to the modules: checked here."""
    calls = _platform_calls()
    assert calls["ingest"]["name"].text == calls["etl"]["name"].text == "var.name"
    assert calls["network"]["availability_zones"].text == "var.network.availability_zones"
    for fn in pf.FUNCTIONS:
        assert calls[fn]["lambda"]["reserved_concurrency"].text == f"var.lambda_reserved_concurrency.{fn}", fn
    frontend = calls["frontend"]
    assert frontend["access_token_parameter_name"].text == "var.frontend.access_token_parameter_name"
    assert frontend["cognito"]["domain_prefix"].text == "var.frontend.domain_prefix"
    assert _local("packages").count("b64sha256") == 1  # the hash read beside the zip, as check_packages does


def test_settings_left_out_take_the_platforms_defaults() -> None:
    """envs/local sets only the warehouse's size; the OLTP host's is the platform's default,
    and the report says so instead of naming a setting that is not there."""
    local = pf.load_env("local")
    assert local.instance_types == {"sizes.warehouse_instance_type in envs/local/main.tf": "t3.medium",
                                    "modules/platform's default sizes.oltp_instance_type": "t3.medium"}
    platform = pf.read_platform(REPO_ROOT)
    assert platform.optional["sizes"]["oltp_instance_type"] == "t3.medium"
    assert platform.value("retention", None) == {"log_days": 365, "backup_days": 7}
    assert platform.value("sizes", {"oltp_instance_type": "m6i.large", "oltp_data_gib": None})["oltp_data_gib"] == 20
