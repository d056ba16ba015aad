"""Plan of modules/frontend/examples/basic. Plan-only: moto has no Amplify API, so the example
is never applied to the emulator; the plan still reads the Git token from the emulator's SSM,
which proves the token comes from a parameter and not from a variable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import boto3
import pytest

from clickstream import REPO_ROOT
from clickstream.emulator import Emulator
from clickstream.terraform import Terraform
from clickstream.testing.plan import assert_inventory, resources_by_address

pytestmark = pytest.mark.plan

EXAMPLE = REPO_ROOT / "modules/frontend/examples/basic"
INVENTORY = REPO_ROOT / "tests/plan/inventories/frontend_basic.yaml"
TOKEN_PARAM = "/clickstream-ex/amplify/git-token"
TOKEN = "ghp_frontendplantest0000000000000000000"  # fake token, lives only in the emulator


@pytest.fixture(scope="module")
def tf(emulator: Emulator) -> Iterator[Terraform]:
    boto3.client("ssm").put_parameter(Name=TOKEN_PARAM, Type="SecureString", Value=TOKEN, Overwrite=True)
    with Terraform(EXAMPLE, emulator_env=emulator.env) as t:
        yield t


@pytest.fixture(scope="module")
def plan(tf: Terraform) -> dict:
    return tf.plan()


def test_plan_matches_inventory(plan: dict) -> None:
    assert_inventory(plan, INVENTORY)


def test_app_build_spec_headers_and_environment(plan: dict) -> None:
    changes = {c["address"]: c["change"] for c in plan["resource_changes"]}
    app = changes["module.frontend.aws_amplify_app.this"]
    assert "version: 1" in app["after"]["build_spec"] and "baseDirectory: .next" in app["after"]["build_spec"]
    assert "npm ci" in app["after"]["build_spec"]
    assert "Strict-Transport-Security" in app["after"]["custom_headers"]
    # The environment holds the Cognito ids, known only after apply; its content is asserted
    # by the module's terraform test (secure_defaults).
    assert app["after_unknown"]["environment_variables"] is True


def test_token_comes_from_ssm_and_is_sensitive(plan: dict) -> None:
    variables = plan["configuration"]["root_module"]["module_calls"]["frontend"]["module"]["variables"]
    assert not any("token" in name and "parameter" not in name for name in variables)
    app = next(c for c in plan["resource_changes"] if c["address"] == "module.frontend.aws_amplify_app.this")
    assert app["change"]["after_sensitive"]["access_token"] is True
    assert TOKEN not in json.dumps(plan["planned_values"]["outputs"])
    data = [r for r in plan["prior_state"]["values"]["root_module"]["child_modules"][0]["resources"]
            if r["type"] == "aws_ssm_parameter"]
    assert data and data[0]["values"]["name"] == TOKEN_PARAM


def test_public_client_has_no_secret_and_only_the_code_flow(plan: dict) -> None:
    client = resources_by_address(plan)["module.frontend.aws_cognito_user_pool_client.this"]
    assert client["generate_secret"] is False
    assert client["allowed_oauth_flows"] == ["code"]
    assert set(client["explicit_auth_flows"]) == {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}


def test_validation_and_secure_defaults() -> None:
    """modules/frontend/tests/validation.tftest.hcl with a mocked provider: hostile inputs refused."""
    with Terraform(REPO_ROOT / "modules/frontend") as t:
        t.init()
        proc = t.run("test", "-no-color", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    match = re.search(r"Success! (\d+) passed, 0 failed", out)
    assert match and int(match.group(1)) >= 15, out
