"""Plans of dev and prod (one root, envs/aws, each with its own envs/<env>/terraform.tfvars)
and of envs/local against their inventories and the platform's security rules: every ingress
rule of every group walked (no 0.0.0.0/0 or ::/0 anywhere: the public HTTP API has no security
group), no public IP and IMDSv2 on every instance, every volume and bucket encrypted, and prod
differing from dev where it must.

Plans run against the emulator (the ephemeral passwords and the data sources need an
endpoint); the front end's Git token parameter is created there first. The Lambda zips come
from the deterministic build; the hosts' bundles are placeholders (a plan holds only their key
and hash): found in build/hosts under repo_root as `make host-bundle` leaves them, and for dev
passed in host_bundles.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from clickstream import REPO_ROOT, envs
from clickstream.build import build_lambda
from clickstream.emulator import Emulator
from clickstream.terraform import Terraform
from clickstream.testing.bundles import placeholder_bundles
from clickstream.testing.plan import assert_inventory, iter_resources, resources_by_address, validation_errors
from clickstream.testing.security_groups import (
    assert_no_open_ingress,
    instance_findings,
    iter_ingress_rules,
    storage_findings,
)
from clickstream.tfvars import parse_file, read_tfvars

pytestmark = pytest.mark.plan

INVENTORIES = Path(__file__).parent / "inventories"
ENVS = ("dev", "prod", "local")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repo_root whose build/hosts holds both bundles, as `make host-bundle` leaves it."""
    root = tmp_path_factory.mktemp("repo")
    placeholder_bundles(root / "build" / "hosts")
    return root


@pytest.fixture(scope="module")
def given_bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """Bundles passed in host_bundles (dev), from elsewhere than build/hosts."""
    return placeholder_bundles(tmp_path_factory.mktemp("given"))


@pytest.fixture(scope="module")
def packages(repo: Path) -> dict[str, str]:
    ingest, etl, batcher = build_lambda("ingest"), build_lambda("etl"), build_lambda("batcher")
    return {
        "ingest_package_path": str(ingest[0]), "ingest_package_hash": ingest[1],
        "etl_package_path": str(etl[0]), "etl_package_hash": etl[1],
        "batcher_package_path": str(batcher[0]), "batcher_package_hash": batcher[1],
        "repo_root": str(repo),
    }


@pytest.fixture(scope="module")
def plans(emulator: Emulator, packages: dict[str, str], given_bundles: dict) -> dict[str, dict]:
    """One plan per environment, shared by every test here (each takes about 30 s)."""
    result = {}
    for env in ENVS:
        if env != "local":
            boto3.client("ssm").put_parameter(
                Name=f"/clickstream-{env}/amplify/git-token", Type="SecureString", Value="ghp_fake_for_plan",
                Overwrite=True,
            )
        variables = {**packages, **({"host_bundles": given_bundles} if env == "dev" else {})}
        with envs.env_terraform(env, emulator_env=emulator.env) as tf:
            result[env] = tf.plan(variables)
    return result


def _platform_calls(plan: dict) -> dict:
    """The module calls inside modules/platform, as the plan's configuration holds them."""
    return plan["configuration"]["root_module"]["module_calls"]["platform"]["module"]["module_calls"]


@pytest.fixture(params=ENVS)
def env_plan(request: pytest.FixtureRequest, plans: dict[str, dict]) -> tuple[str, dict]:
    return request.param, plans[request.param]


def test_plan_matches_inventory(env_plan: tuple[str, dict]) -> None:
    env, plan = env_plan
    assert_inventory(plan, INVENTORIES / f"env_{env}.yaml")


def test_no_ingress_open_to_the_internet(env_plan: tuple[str, dict]) -> None:
    _, plan = env_plan
    assert_no_open_ingress(plan)
    # Exactly the designed ingress rules: 5432 to the warehouse from the ETL group, and the
    # interface endpoints' 443 from the VPC CIDR. The OLTP host admits nothing here.
    rules = sorted((r.address.split(".aws_")[0], r.from_port) for r in iter_ingress_rules(plan))
    assert rules == [("module.platform.module.endpoints", 443), ("module.platform.module.warehouse.module.host", 5432)]


def test_hosts_are_private_with_imdsv2_and_storage_is_encrypted(env_plan: tuple[str, dict]) -> None:
    _, plan = env_plan
    assert len([r for r in iter_resources(plan) if r["type"] == "aws_instance"]) == 2
    assert instance_findings(plan) == []
    assert storage_findings(plan) == []


def test_no_nat_gateway_and_no_public_subnet(env_plan: tuple[str, dict]) -> None:
    _, plan = env_plan
    types = {r["type"] for r in iter_resources(plan)}
    assert not types & {"aws_nat_gateway", "aws_eip", "aws_internet_gateway"}


def test_passwords_are_write_only(env_plan: tuple[str, dict]) -> None:
    _, plan = env_plan
    params = {a: v for a, v in resources_by_address(plan).items() if a.endswith("aws_ssm_parameter.password")}
    assert sorted(params) == [
        "module.platform.module.oltp.module.host.aws_ssm_parameter.password",
        "module.platform.module.warehouse.module.host.aws_ssm_parameter.password",
    ]
    for values in params.values():
        assert values["type"] == "SecureString"
        assert values.get("value") in (None, "") and values["value_wo_version"] >= 1


def test_prod_is_bigger_longer_protected_and_alarmed(plans: dict[str, dict]) -> None:
    """The differences the tfvars promise, read from both plans side by side."""
    dev, prod = resources_by_address(plans["dev"]), resources_by_address(plans["prod"])
    inst = "module.platform.module.warehouse.module.host.aws_instance.this"
    assert (dev[inst]["instance_type"], prod[inst]["instance_type"]) == ("t3.large", "r6i.xlarge")
    # Logs are kept a year everywhere (the security gate's CKV_AWS_338); dev keeps fewer backups.
    for logs in ("module.platform.module.ingest.module.function.aws_cloudwatch_log_group.this",
                 "module.platform.module.etl.module.function.aws_cloudwatch_log_group.this",
                 "module.platform.module.network.aws_cloudwatch_log_group.flow_logs[0]"):
        assert dev[logs]["retention_in_days"] == prod[logs]["retention_in_days"] == 365, logs
    lifecycle = "module.platform.module.artifacts.module.bucket.aws_s3_bucket_lifecycle_configuration.this"
    backups = [
        next(r["expiration"][0]["days"] for r in env[lifecycle]["rule"] if r["id"] == "expire-backups")
        for env in (dev, prod)
    ]
    assert backups == [7, 35]
    pool = "module.platform.module.frontend[0].aws_cognito_user_pool.this"
    assert (dev[pool]["deletion_protection"], prod[pool]["deletion_protection"]) == ("INACTIVE", "ACTIVE")
    assert not any(a.startswith("module.platform.aws_sns_topic.") for a in dev)
    assert "module.platform.aws_sns_topic.alarms[0]" in prod
    assert 'module.platform.aws_cloudwatch_metric_alarm.host_status["warehouse"]' in prod
    assert prod["module.platform.module.artifacts.module.bucket.aws_s3_bucket.this"]["force_destroy"] is False


@pytest.fixture(scope="module")
def dev_root(emulator: Emulator) -> Iterator[Terraform]:
    boto3.client("ssm").put_parameter(
        Name="/clickstream-dev/amplify/git-token", Type="SecureString", Value="ghp_fake_for_plan", Overwrite=True,
    )
    with envs.env_terraform("dev", emulator_env=emulator.env) as tf:
        yield tf


#: frontend of dev on a branch with a slash: Amplify serves feature/checkout at
#: https://feature-checkout.<app id>.amplifyapp.com.
DEV_FRONTEND = {
    "repository": "https://github.com/example/clickstream-shop",
    "access_token_parameter_name": "/clickstream-dev/amplify/git-token",
    "branch": "feature/checkout",
    "callback_urls": ["https://feature-checkout.d1example.amplifyapp.com/auth/callback"],
}


def test_cors_origin_must_name_the_served_branch(dev_root: Terraform, packages: dict[str, str]) -> None:
    """dev's tfvars once allowed main's origin while Amplify served develop: the tracker's
    requests would have been refused by CORS. The origin must now name frontend.branch (the
    callback URLs here do, with the slash as Amplify writes it, and pass)."""
    err = dev_root.plan_error({
        **packages,
        "shop_origins": ["https://main.d1example.amplifyapp.com", "https://shop.example.com"],
        "frontend": DEV_FRONTEND,
        "lambda_reserved_concurrency": {"ingest": 0},
    })
    found = validation_errors(err)
    assert set(found) == {"shop_origins", "lambda_reserved_concurrency"}, err[:3000]
    assert any("shop_origins: an *.amplifyapp.com origin must be the deployed branch's" in m
               for m in found["shop_origins"]), found
    assert any("lambda_reserved_concurrency.ingest and .etl must each be null" in m
               for m in found["lambda_reserved_concurrency"]), found


def test_cognito_callbacks_must_name_the_served_branch(dev_root: Terraform, packages: dict[str, str]) -> None:
    err = dev_root.plan_error({
        **packages,
        "shop_origins": ["https://feature-checkout.d1example.amplifyapp.com"],
        "frontend": {**DEV_FRONTEND, "logout_urls": ["https://main.d1example.amplifyapp.com/"]},
    })
    found = validation_errors(err)
    assert set(found) == {"frontend"}, err[-3000:]
    assert any("frontend.callback_urls and logout_urls on *.amplifyapp.com must be on the deployed branch's host" in m
               for m in found["frontend"]), found
def test_each_host_boots_its_bundle_from_its_content_key(
    env_plan: tuple[str, dict], repo: Path, given_bundles: dict[str, dict[str, str]]
) -> None:
    """Both bundles uploaded, and nothing else, under `<prefix>bundles/<role>-<sha>.tar.gz`,
    from build/hosts by default (host_bundles, when given, wins), and each host is given its
    own (the user data is only a hash in the plan; the module plan tests read its text)."""
    env, plan = env_plan
    planned = resources_by_address(plan)
    objects = {
        v["key"]: v for a, v in planned.items() if a.startswith("module.platform.module.artifacts.aws_s3_object.")
    }
    expected = {}
    for role, prefix in (("warehouse", "dw"), ("oltp", "oltp")):
        bundle = given_bundles[role] if env == "dev" else {
            "path": str(repo / "build/hosts" / f"{role}.tar.gz"),
            "sha256": (repo / "build/hosts" / f"{role}.tar.gz.sha256").read_text().strip(),
        }
        key = f"{prefix}/bundles/{role}-{bundle['sha256']}.tar.gz"
        expected[key] = bundle["path"]
        call = _platform_calls(plan)[role]["expressions"]["bundle"]
        assert f"local.bundles.{role}" in call["references"], call
        other = "oltp" if role == "warehouse" else "warehouse"
        assert not [r for r in call["references"] if r.endswith(f".{other}") or f".{other}." in r], call
    assert {k: v["source"] for k, v in objects.items()} == expected
    assert all(v["server_side_encryption"] == "aws:kms" for v in objects.values())


def test_status_and_ca_parameters_of_both_hosts(env_plan: tuple[str, dict]) -> None:
    env, plan = env_plan
    params = {
        v["name"]: v for a, v in resources_by_address(plan).items() if a.endswith(("parameter.status", "parameter.ca"))
    }
    name = f"clickstream-{env}"
    assert sorted(params) == sorted(f"/{name}/{p}/{w}" for p in ("dw", "oltp") for w in ("bootstrap-status", "tls-ca"))
    assert all((v["type"], v["insecure_value"]) == ("String", "pending") for v in params.values())
    outputs = plan["planned_values"]["outputs"]
    assert outputs["warehouse_ca_parameter_name"]["value"] == f"/{name}/dw/tls-ca"
    # The region is the provider's (the harness points it at the emulator's us-east-1).
    assert re.fullmatch(
        rf"aws ssm get-parameter --region [a-z]{{2}}-[a-z]+-\d --name /{name}/oltp/bootstrap-status "
        r"--query Parameter.Value --output text",
        outputs["oltp_bootstrap_status_command"]["value"],
    ), outputs["oltp_bootstrap_status_command"]


@pytest.fixture(scope="module")
def local_root(emulator: Emulator) -> Iterator[Terraform]:
    """envs/local, copied and initialised once for the refusal plans (each plans it anew)."""
    with envs.env_terraform("local", emulator_env=emulator.env) as tf:
        yield tf


@pytest.mark.parametrize("env", ["local", "dev"])
def test_a_missing_bundle_says_to_run_make_host_bundle(
    request: pytest.FixtureRequest, packages: dict[str, str], tmp_path: Path, env: str
) -> None:
    """Without build/hosts (and no host_bundles) the plan stops at the variable, with the fix."""
    variables = {**packages, "repo_root": str(tmp_path)}
    tf: Terraform = request.getfixturevalue(f"{env}_root")
    err = " ".join(tf.plan_error(variables).split())
    assert "run `make host-bundle`" in err and f"{tmp_path}/build/hosts/" in err, err
    assert err.count("Error:") == 1, err


def test_a_stale_bundle_hash_is_refused(local_root: Terraform, packages: dict[str, str], tmp_path: Path) -> None:
    """A .sha256 that no longer matches its bundle would fail `sha256sum -c` on the host: refused."""
    placeholder_bundles(tmp_path / "build/hosts")
    (tmp_path / "build/hosts/oltp.tar.gz.sha256").write_text("0" * 64 + "\n")
    err = " ".join(local_root.plan_error({**packages, "repo_root": str(tmp_path)}).split())
    assert "run `make host-bundle`" in err and err.count("Error:") == 1, err
    given = placeholder_bundles(tmp_path / "given")
    given["warehouse"]["sha256"] = "1" * 64
    err = " ".join(local_root.plan_error({**packages, "host_bundles": given}).split())
    assert "host_bundles.<role>.sha256 must be the hex SHA-256" in err and err.count("Error:") == 1, err


def test_etl_verifies_the_warehouse_with_the_ca_the_host_publishes(env_plan: tuple[str, dict]) -> None:
    """The ETL is given the CA parameter the warehouse's bootstrap writes (so it connects with
    verify-full: tests/plan/test_etl.py checks the module turns that into DW_CA_PARAM and
    DW_SSLMODE, which are unknown here until the host's address is), may read it, and no env
    downgrades the mode."""
    env, plan = env_plan
    planned = resources_by_address(plan)
    assert "module.platform.module.etl.aws_iam_role_policy.warehouse_ca[0]" in planned
    etl_call = _platform_calls(plan)["etl"]["expressions"]["warehouse"]
    assert {"module.warehouse.ca_parameter_name", "module.warehouse.ca_parameter_arn",
            "module.warehouse.kms_key_arn"} <= set(etl_call["references"])
    assert not [p.name for p in (REPO_ROOT / "modules/platform").glob("*.tf") if "sslmode" in p.read_text()]
    assert "sslmode" not in (envs.layout(env).root / "main.tf").read_text()


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_state_of_the_old_layout_moves_under_the_platform(env: str, plans: dict[str, dict]) -> None:
    """The account root's moved.tf takes every module call and every resource an env held
    before modules/platform (moved blocks, as the plan's configuration lists them) to an
    address this env's plan has, so an applied env is not destroyed and re-created. (envs/local
    has none: its state never outlives the emulator it was applied to.)"""
    plan = plans[env]
    moved = {}
    for block in parse_file(REPO_ROOT / "envs/aws/moved.tf").blocks_of("moved"):
        moved[block.body.attributes["from"].text] = block.body.attributes["to"].text
    # alarms_key is new with the platform: the env's alarm key moves into it by resource.
    calls = set(_platform_calls(plan)) - {"alarms_key"}
    assert {f"module.{c}" for c in calls} <= set(moved), sorted(moved)
    root_resources = {r["address"].split("[")[0] for r in iter_resources(plan)
                      if r["address"].startswith("module.platform.aws_")}
    assert {a.removeprefix("module.platform.") for a in root_resources} <= set(moved), sorted(moved)
    planned = [r["address"] for r in iter_resources(plan)]
    assert all(new.startswith("module.platform.") for new in moved.values()), moved
    absent = {new for new in moved.values()
              if not any(a == new or a.startswith((f"{new}.", f"{new}[")) for a in planned)}
    # Only what dev's tfvars switch off (alarms) has no instance to move to.
    alarms = {f"module.platform.{r}" for r in ("module.alarms_key[0].aws_kms_key.this", "aws_sns_topic.alarms",
                                                "aws_sns_topic_subscription.email",
                                                "aws_cloudwatch_metric_alarm.host_status")}
    assert absent == (alarms if env == "dev" else set()), absent


def test_dev_and_prod_plan_one_root_with_their_own_tfvars_and_backend(plans: dict[str, dict]) -> None:
    """Both account envs are the same configuration (envs/aws, its module call and moved
    blocks), planned with each env's tfvars; each env's backend config and data dir are its own."""
    dev, prod = envs.layout("dev"), envs.layout("prod")
    assert dev.root == prod.root == REPO_ROOT / "envs/aws"
    assert (dev.root_var_files, prod.root_var_files) == (("../dev/terraform.tfvars",), ("../prod/terraform.tfvars",))
    assert dev.backend_config == REPO_ROOT / "envs/dev/backend.hcl"
    assert prod.backend_config == REPO_ROOT / "envs/prod/backend.hcl"
    assert dev.data_dir != prod.data_dir and dev.data_dir.parent == dev.folder
    assert not list(dev.folder.glob("*.tf")) and not list(prod.folder.glob("*.tf"))
    config = [plans[e]["configuration"]["root_module"] for e in ("dev", "prod")]
    assert config[0]["module_calls"]["platform"]["source"] == config[1]["module_calls"]["platform"]["source"]
    assert config[0]["module_calls"]["platform"]["expressions"] == config[1]["module_calls"]["platform"]["expressions"]
    variables = [plans[e]["variables"] for e in ("dev", "prod")]
    assert [v["environment"]["value"] for v in variables] == ["dev", "prod"]
    assert [v["vpc_cidr"]["value"] for v in variables] == ["10.20.0.0/16", "10.40.0.0/16"]
    # The example state keys name their env: copying one unchanged could not share a state.
    keys = [read_tfvars(e.folder / "backend.hcl.example")["key"] for e in (dev, prod)]
    assert keys == ["clickstream/dev/terraform.tfstate", "clickstream/prod/terraform.tfstate"]
