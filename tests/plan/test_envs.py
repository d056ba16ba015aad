"""Plans of envs/dev, envs/prod and envs/local against their inventories and the platform's
security rules: every ingress rule of every group walked (no 0.0.0.0/0 or ::/0 anywhere: the
public HTTP API has no security group), no public IP and IMDSv2 on every instance, every
volume and bucket encrypted, and prod differing from dev where it must.

Plans run against the emulator (the ephemeral passwords and the data sources need an
endpoint); the front end's Git token parameter is created there first. The Lambda zips come
from the deterministic build.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from clickstream import REPO_ROOT
from clickstream.build import build_lambda
from clickstream.emulator import Emulator
from clickstream.terraform import Terraform
from clickstream.testing.plan import assert_inventory, iter_resources, resources_by_address, validation_errors
from clickstream.testing.security_groups import (
    assert_no_open_ingress,
    instance_findings,
    iter_ingress_rules,
    storage_findings,
)

pytestmark = pytest.mark.plan

INVENTORIES = Path(__file__).parent / "inventories"
ENVS = ("dev", "prod", "local")


@pytest.fixture(scope="module")
def packages() -> dict[str, str]:
    ingest, etl = build_lambda("ingest"), build_lambda("etl")
    return {
        "ingest_package_path": str(ingest[0]), "ingest_package_hash": ingest[1],
        "etl_package_path": str(etl[0]), "etl_package_hash": etl[1],
        "repo_root": str(REPO_ROOT),
    }


@pytest.fixture(scope="module")
def plans(emulator: Emulator, packages: dict[str, str]) -> dict[str, dict]:
    """One plan per environment, shared by every test here (each takes about 30 s)."""
    result = {}
    for env in ENVS:
        if env != "local":
            boto3.client("ssm").put_parameter(
                Name=f"/clickstream-{env}/amplify/git-token", Type="SecureString", Value="ghp_fake_for_plan",
                Overwrite=True,
            )
        with Terraform(REPO_ROOT / "envs" / env, emulator_env=emulator.env) as tf:
            result[env] = tf.plan(packages)
    return result


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
    assert rules == [("module.endpoints", 443), ("module.warehouse", 5432)]


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
    assert sorted(params) == ["module.oltp.aws_ssm_parameter.password", "module.warehouse.aws_ssm_parameter.password"]
    for values in params.values():
        assert values["type"] == "SecureString"
        assert values.get("value") in (None, "") and values["value_wo_version"] >= 1


def test_prod_is_bigger_longer_protected_and_alarmed(plans: dict[str, dict]) -> None:
    """The differences the tfvars promise, read from both plans side by side."""
    dev, prod = resources_by_address(plans["dev"]), resources_by_address(plans["prod"])
    inst = "module.warehouse.aws_instance.this"
    assert (dev[inst]["instance_type"], prod[inst]["instance_type"]) == ("t3.large", "r6i.xlarge")
    # Logs are kept a year everywhere (the security gate's CKV_AWS_338); dev keeps fewer backups.
    for logs in ("module.ingest.aws_cloudwatch_log_group.lambda", "module.etl.aws_cloudwatch_log_group.this",
                 "module.network.aws_cloudwatch_log_group.flow_logs[0]"):
        assert dev[logs]["retention_in_days"] == prod[logs]["retention_in_days"] == 365, logs
    lifecycle = "module.artifacts.aws_s3_bucket_lifecycle_configuration.this"
    backups = [
        next(r["expiration"][0]["days"] for r in env[lifecycle]["rule"] if r["id"] == "expire-backups")
        for env in (dev, prod)
    ]
    assert backups == [7, 35]
    pool = "module.frontend.aws_cognito_user_pool.this"
    assert (dev[pool]["deletion_protection"], prod[pool]["deletion_protection"]) == ("INACTIVE", "ACTIVE")
    assert not any(a.startswith("aws_sns_topic.") for a in dev)
    assert "aws_sns_topic.alarms[0]" in prod
    assert 'aws_cloudwatch_metric_alarm.host_status["warehouse"]' in prod
    assert prod["module.artifacts.aws_s3_bucket.this"]["force_destroy"] is False


@pytest.fixture(scope="module")
def dev_root(emulator: Emulator) -> Iterator[Terraform]:
    boto3.client("ssm").put_parameter(
        Name="/clickstream-dev/amplify/git-token", Type="SecureString", Value="ghp_fake_for_plan", Overwrite=True,
    )
    with Terraform(REPO_ROOT / "envs" / "dev", emulator_env=emulator.env) as tf:
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
