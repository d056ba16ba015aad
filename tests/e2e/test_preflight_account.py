"""``make preflight`` against an emulated account: what a first apply would fail on is refused
before a plan, with the setting to change; a good account passes.

The account is moto. Its Lambda concurrency quota is moto's own documented setting,
``MOTO_LAMBDA_CONCURRENCY_QUOTA``, read per request by the GetAccountSettings handler
``clickstream.moto_server`` adds (moto has none), so these tests set it in this process:
the embedded emulator only. Each test reads a copy of dev (envs/dev's tfvars and the envs/aws
root it is planned from) in a temporary repository root with its own zips, backend config and
Git token parameter, so nothing here depends on the state other tests leave in the emulator.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from clickstream import REPO_ROOT
from clickstream import preflight as pf
from clickstream.build import build_lambda
from clickstream.emulator import Emulator
from clickstream.moto_server import LAMBDA_QUOTA_VARIABLE

pytestmark = pytest.mark.e2e

REGION = "eu-central-1"  # envs/dev/terraform.tfvars' region


@pytest.fixture(scope="module")
def zips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build") / "lambda"
    for fn in pf.PACKAGES:
        build_lambda(fn, out_dir=out)
    return out


@pytest.fixture
def repo(tmp_path: Path, zips: Path, emulator: Emulator) -> Callable[..., Path]:
    """A repository root holding a copy of envs/dev (whose tfvars lines can be replaced) and
    envs/aws, an existing state bucket and Git token parameter (unique names), and the built zips."""
    token = f"/preflight-{uuid.uuid4().hex[:8]}/amplify/git-token"
    bucket = f"preflight-state-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", region_name=REGION, endpoint_url=emulator.endpoint_url).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    boto3.client("ssm", region_name=REGION, endpoint_url=emulator.endpoint_url).put_parameter(
        Name=token, Type="SecureString", Value="ghp_fake")
    for folder in ("dev", "aws"):
        shutil.copytree(REPO_ROOT / "envs" / folder, tmp_path / "envs" / folder)
    shutil.copytree(REPO_ROOT / pf.PLATFORM, tmp_path / pf.PLATFORM)  # the defaults the env leaves to it
    shutil.copytree(zips, tmp_path / "build" / "lambda")
    env_dir = tmp_path / "envs" / "dev"
    (env_dir / "backend.hcl").write_text(f'bucket = "{bucket}"\nkey = "dev.tfstate"\nregion = "{REGION}"\n')
    tfvars = env_dir / "terraform.tfvars"
    tfvars.write_text(tfvars.read_text().replace("/clickstream-dev/amplify/git-token", token))

    def make(replace: dict[str, str] | None = None, main_tf: dict[str, str] | None = None) -> Path:
        for path, changes in ((tfvars, replace), (tmp_path / "envs/aws/main.tf", main_tf)):
            text = path.read_text()
            for old, new in (changes or {}).items():
                assert old in text, old
                text = text.replace(old, new)
            path.write_text(text)
        return tmp_path

    return make


def preflight(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = pf.main(["--env", "dev", "--repo-root", str(root)])
    out = capsys.readouterr()
    return status, out.out, out.err


def failing(err: str) -> list[str]:
    return [line.split(":", 1)[0].strip(" -") for line in err.splitlines() if line.startswith("  - ")]


RESERVED = {"lambda_reserved_concurrency = { ingest = null, etl = null }":
            "lambda_reserved_concurrency = { ingest = 5, etl = 1 }"}


def test_a_good_account_passes(repo, capsys) -> None:
    status, out, err = preflight(repo(), capsys)
    assert status == pf.EXIT_OK, out + err
    assert err == ""
    for name in ("env settings", "target", "lambda packages", "credentials", "state backend", "lambda concurrency",
                 "availability zones", "host AMI", "instance types", "git token parameter", "cognito domain"):
        assert any(line.startswith(f"  {name} ") and "  ok  " in line for line in out.splitlines()), (name, out)
    assert "no reservation" in out and "preflight passed" in out


def test_a_reservation_on_a_new_accounts_quota_is_refused_naming_the_variable(
    repo, capsys, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not emulator.embedded:
        pytest.skip("the quota is set in the embedded moto's process (MOTO_LAMBDA_CONCURRENCY_QUOTA)")
    monkeypatch.setenv(LAMBDA_QUOTA_VARIABLE, "10")
    limits = boto3.client("lambda", region_name=REGION).get_account_settings()["AccountLimit"]
    # 0 unless another test left a reservation in this emulator
    reserved_elsewhere = limits["ConcurrentExecutions"] - limits["UnreservedConcurrentExecutions"]
    status, _, err = preflight(repo(RESERVED), capsys)
    assert status == pf.EXIT_REFUSED
    assert failing(err) == ["lambda concurrency"], err
    assert "lambda_reserved_concurrency.ingest = 5, lambda_reserved_concurrency.etl = 1" in err
    assert "quota of 10" in err and "AWS keeps at least 10" in err
    assert "set lambda_reserved_concurrency.ingest = null, lambda_reserved_concurrency.etl = null" in err
    needed = reserved_elsewhere + 6 + 100  # what others hold, what dev asks, the floor above a quota of 100
    assert f'Service Quotas > AWS Lambda > "Concurrent executions") to at least {needed}' in err


def test_the_same_reservation_passes_where_the_quota_allows_it(repo, capsys, emulator, monkeypatch) -> None:
    if not emulator.embedded:
        pytest.skip("the quota is set in the embedded moto's process (MOTO_LAMBDA_CONCURRENCY_QUOTA)")
    monkeypatch.setenv(LAMBDA_QUOTA_VARIABLE, "1000")
    status, out, err = preflight(repo(RESERVED), capsys)
    assert status == pf.EXIT_OK, err
    assert "reserves 6 of quota 1000" in out


def test_a_missing_ami_parameter_is_refused(repo, capsys, monkeypatch) -> None:
    """The hosts' parameter (modules/postgres_host's default, which the platform keeps) as if
    the region did not publish it."""
    missing = pf.AMI_PARAMETER + "-not-published"
    monkeypatch.setattr(pf, "AMI_PARAMETER", missing)
    status, _, err = preflight(repo(), capsys)
    assert status == pf.EXIT_REFUSED
    assert failing(err) == ["host AMI"], err
    assert f"the AMI parameter {missing}" in err and "does not resolve in eu-central-1" in err
    assert "pin ami_id in envs/dev/terraform.tfvars" in err


def test_a_pinned_ami_that_does_not_exist_is_refused(repo, capsys) -> None:
    status, _, err = preflight(repo({'shop_origins       =': 'ami_id = "ami-0123456789abcdef0"\nshop_origins       ='}),
                               capsys)
    assert status == pf.EXIT_REFUSED and failing(err) == ["host AMI"], err
    assert "ami_id = ami-0123456789abcdef0 in envs/dev/terraform.tfvars does not exist" in err


def test_a_missing_git_token_parameter_is_refused(repo, capsys) -> None:
    root = repo()
    tfvars = root / "envs/dev/terraform.tfvars"
    text = tfvars.read_text()
    start = text.index('access_token_parameter_name = "') + len('access_token_parameter_name = "')
    name = text[start:text.index('"', start)]
    boto3.client("ssm", region_name=REGION).delete_parameter(Name=name)
    status, _, err = preflight(root, capsys)
    assert status == pf.EXIT_REFUSED and failing(err) == ["git token parameter"], err
    assert f"frontend.access_token_parameter_name = {name}" in err
    assert f"aws ssm put-parameter --region eu-central-1 --type SecureString --name {name}" in err


def test_every_failing_check_is_listed_at_once(repo, capsys) -> None:
    """Zones that are not the region's, a missing state bucket and an instance type the zone
    does not offer: one run names all three settings."""
    root = repo({
        'availability_zones = ["eu-central-1a", "eu-central-1b"]':
        'availability_zones = ["eu-central-1a", "eu-west-1b"]',
        'warehouse_instance_type = "t3.large"': 'warehouse_instance_type = "t3.nonexistent"',
    })
    (root / "envs/dev/backend.hcl").write_text(f'bucket = "preflight-missing-{uuid.uuid4().hex[:8]}"\n')
    status, _, err = preflight(root, capsys)
    assert status == pf.EXIT_REFUSED
    assert failing(err) == ["state backend", "availability zones", "instance types"], err
    assert "eu-west-1b is not a zone of eu-central-1" in err
    assert "sizes.warehouse_instance_type = t3.nonexistent: not offered in eu-central-1a" in err
    assert "does not exist" in err and "backend.hcl" in err


def test_moto_reports_the_quota_minus_what_functions_reserve(emulator: Emulator, monkeypatch, tmp_path) -> None:
    """The GetAccountSettings the harness adds to moto subtracts reservations as AWS does, and
    the preflight gives this env's own reservation back (a re-apply replaces it)."""
    if not emulator.embedded:
        pytest.skip("the quota is set in the embedded moto's process (MOTO_LAMBDA_CONCURRENCY_QUOTA)")
    monkeypatch.setenv(LAMBDA_QUOTA_VARIABLE, "1000")
    iam = boto3.client("iam", region_name=REGION)
    role = f"preflight-{uuid.uuid4().hex[:8]}"
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}')[
        "Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    name = f"{role}-ingest"
    zip_path, _ = build_lambda("ingest", out_dir=tmp_path)
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=arn, Handler="ingest.handler.handler",
                        Code={"ZipFile": zip_path.read_bytes()})
    try:
        before = lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=150)
        limits = lam.get_account_settings()["AccountLimit"]
        assert limits["ConcurrentExecutions"] == 1000
        assert limits["UnreservedConcurrentExecutions"] == before - 150
        env = pf.load_env("dev")
        env.prefix, env.reservations = role, {"ingest": 150, "etl": None}
        check = pf.check_lambda_concurrency(pf.Context(env, boto3.Session(region_name=REGION)))
        assert check.ok, check.detail  # the 150 it holds now is given back before the 150 it asks for
    finally:
        lam.delete_function(FunctionName=name)
