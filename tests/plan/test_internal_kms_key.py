"""Plan tests of modules/internal/kms_key: the key policy is built from its inputs, and only from them.

The example's terraform.tfvars hold administrators, one key-user statement (S3 via
kms:ViaService) and two service statements (CloudWatch Logs for one log group, CloudWatch
alarms of this account). Every value is literal, so the rendered policy is known at plan time
and is parsed statement by statement: a subset match on a JSON string would not say which
permission crept in. Hostile inputs (no administrator, wildcard or administration actions for
users, malformed ARNs, an unconditioned service) must stop at plan time with their message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from clickstream import REPO_ROOT
from clickstream.emulator import Emulator
from clickstream.terraform import Terraform
from clickstream.testing.plan import resources_by_address

pytestmark = pytest.mark.plan

EXAMPLE = REPO_ROOT / "modules" / "internal" / "kms_key" / "examples" / "basic"
KEY = "module.key.aws_kms_key.this"
ROOT = "arn:aws:iam::123456789012:root"
LOG_GROUP_ARN = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/clickstream-example"
# The 22 key-administration actions, written out here independently of the module: the test
# fails if the module's list gains (or loses) an action.
ADMIN_ACTIONS = {
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
}
CRYPTO = {
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
}


def _list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@pytest.fixture(scope="module")
def root(emulator: Emulator) -> Iterator[Terraform]:
    with Terraform(EXAMPLE, emulator_env=emulator.env) as tf:
        yield tf


@pytest.fixture(scope="module")
def plan(root: Terraform) -> dict:
    return root.plan()


@pytest.fixture(scope="module")
def statements(plan: dict) -> dict[str, dict]:
    policy = json.loads(resources_by_address(plan)[KEY]["policy"])
    assert policy["Version"] == "2012-10-17"
    out = {s["Sid"]: s for s in policy["Statement"]}
    assert len(out) == len(policy["Statement"]), "duplicate sids"
    return out


def test_key_rotates_and_keeps_the_deletion_window(plan: dict) -> None:
    res = resources_by_address(plan)
    assert res[KEY]["enable_key_rotation"] is True
    assert res[KEY]["deletion_window_in_days"] == 30
    assert res["module.key.aws_kms_alias.this"]["name"] == "alias/clickstream-example-ingest"


def test_policy_has_exactly_the_statements_asked_for(statements: dict[str, dict]) -> None:
    assert set(statements) == {
        "KeyAdministration",
        "AccountPrincipalsUseTheKeyOnlyThroughS3",
        "CloudWatchLogsEncryptsOneLogGroup",
        "CloudWatchAlarmsOfThisAccountPublish",
    }
    assert all(s["Effect"] == "Allow" and s["Resource"] == "*" for s in statements.values())


def test_administrators_get_exactly_the_admin_actions(statements: dict[str, dict]) -> None:
    admin = statements["KeyAdministration"]
    assert set(_list(admin["Action"])) == ADMIN_ACTIONS
    assert len(_list(admin["Action"])) == 22
    assert not CRYPTO & set(_list(admin["Action"])), "administration must not include cryptographic use"
    assert _list(admin["Principal"]["AWS"]) == [ROOT]
    assert "Condition" not in admin


def test_no_wildcard_action_anywhere(statements: dict[str, dict]) -> None:
    for sid, s in statements.items():
        for action in _list(s["Action"]):
            assert "*" not in action, f"{sid}: {action}"


def test_users_statement_is_conditioned_on_s3(statements: dict[str, dict]) -> None:
    s3 = statements["AccountPrincipalsUseTheKeyOnlyThroughS3"]
    assert sorted(_list(s3["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert _list(s3["Principal"]["AWS"]) == [ROOT]
    assert s3["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com", "kms:CallerAccount": "123456789012"}
    }


def test_service_statements_carry_their_conditions(statements: dict[str, dict]) -> None:
    logs = statements["CloudWatchLogsEncryptsOneLogGroup"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"] == {
        "ArnEquals": {
            "kms:EncryptionContext:aws:logs:arn": LOG_GROUP_ARN
        }
    }
    alarms = statements["CloudWatchAlarmsOfThisAccountPublish"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    # No actions in the tfvars: the module's default for services.
    assert sorted(_list(alarms["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_outputs_name_the_alias(plan: dict) -> None:
    outputs = plan["planned_values"]["outputs"]
    assert outputs["alias_name"]["value"] == "alias/clickstream-example-ingest"
    assert set(outputs["admin_actions"]["value"]) == ADMIN_ACTIONS


S3_USER = {
    "sid": "S3",
    "principals": [ROOT],
    "conditions": [{"test": "StringEquals", "variable": "kms:ViaService", "values": ["s3.us-east-1.amazonaws.com"]}],
}
ACCOUNT = [{"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["123456789012"]}]

BAD = [
    pytest.param({"key_administrators": []}, "key_administrators: at least one principal ARN", id="no-administrator"),
    pytest.param(
        {"key_administrators": ["*"]}, "key_administrators: each entry must be an IAM ARN", id="wildcard-administrator"
    ),
    pytest.param(
        {"key_administrators": ["arn:aws:iam::12345:root"]},
        "key_administrators: each entry must be an IAM ARN",
        id="bad-account-in-arn",
    ),
    pytest.param(
        {"key_users": [{**S3_USER, "actions": ["kms:*"]}]},
        "key_users: actions must be listed key-use actions",
        id="kms-star",
    ),
    pytest.param(
        {"key_users": [{**S3_USER, "actions": ["*"]}]}, "key_users: actions must be listed key-use actions", id="star"
    ),
    pytest.param(
        {"key_users": [{**S3_USER, "actions": ["kms:GenerateDataKey*"]}]},
        "key_users: actions must be listed key-use actions",
        id="suffix-wildcard",
    ),
    pytest.param(
        {"key_users": [{**S3_USER, "actions": ["kms:PutKeyPolicy"]}]},
        "key_users: actions must be listed key-use actions",
        id="admin-action-for-a-user",
    ),
    pytest.param(
        {"key_users": [{**S3_USER, "principals": ["arn:aws:iam::123456789012:group/admins"]}]},
        "key_users: every statement needs at least one principal, each an IAM ARN",
        id="group-is-no-principal",
    ),
    pytest.param(
        {"key_service_principals": [{"sid": "Logs", "services": ["logs.us-east-1.amazonaws.com"], "conditions": []}]},
        "key_service_principals: every statement needs at least one condition",
        id="unconditioned-service",
    ),
    pytest.param(
        {"key_service_principals": [{"sid": "Any", "services": ["*"], "conditions": ACCOUNT}]},
        "key_service_principals: every statement needs at least one service principal",
        id="wildcard-service",
    ),
    pytest.param(
        {
            "key_service_principals": [
                {"sid": "Sns", "services": ["sns.amazonaws.com"], "actions": ["kms:*"], "conditions": ACCOUNT}
            ]
        },
        "key_service_principals: actions must be listed key-use actions",
        id="service-kms-star",
    ),
    pytest.param(
        {"deletion_window_in_days": 3}, "deletion_window_in_days: a whole number of days from 7 to 30", id="window"
    ),
    pytest.param({"alias": "alias/x"}, "alias: 1-250 characters", id="alias-prefix"),
]


@pytest.mark.parametrize(("variables", "message"), BAD)
def test_hostile_inputs_are_refused(root: Terraform, variables: dict, message: str) -> None:
    err = " ".join(root.plan_error(variables).split())
    assert message in err, err[-2000:]


def test_repeated_sid_is_refused(root: Terraform) -> None:
    err = " ".join(root.plan_error({"key_users": [S3_USER, {**S3_USER, "sid": "KeyAdministration"}]}).split())
    assert "Every key_users and key_service_principals statement needs its own sid" in err, err[-2000:]
