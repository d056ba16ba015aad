"""Each custom check (policies/cs_*.py) fails on a bad resource and passes on a good one.

The cases live in fixtures/checks/main.tf, one resource per case, and are scanned both as
Terraform source and as a plan: checkov hands a check differently shaped values in the two,
and the gate depends on both.
"""

from __future__ import annotations

import re

import pytest

from clickstream import REPO_ROOT
from tests.policy.conftest import GateRun

# Waiting for a gate run may outlast pytest's 900 s per test on a loaded machine; the gate's
# own limit (1500 s, conftest.py) then says what it waited for.
pytestmark = [pytest.mark.policy, pytest.mark.timeout(1800)]

CASES = [
    ("CKV_CS_1", "aws_security_group.fail_inline_ipv4_5432", "failed"),
    ("CKV_CS_1", "aws_security_group.fail_inline_all_protocols", "failed"),
    ("CKV_CS_1", "aws_security_group_rule.fail_rule_range_ipv6", "failed"),
    ("CKV_CS_1", "aws_vpc_security_group_ingress_rule.fail_vpc_rule_all_traffic", "failed"),
    ("CKV_CS_1", "aws_vpc_security_group_ingress_rule.fail_vpc_rule_5432", "failed"),
    ("CKV_CS_1", "aws_security_group.pass_inline_vpc_only", "passed"),
    ("CKV_CS_1", "aws_security_group_rule.pass_rule_egress", "passed"),
    ("CKV_CS_1", "aws_vpc_security_group_ingress_rule.pass_vpc_rule_from_sg", "passed"),
    ("CKV_CS_2", "aws_iam_role_policy.fail_star_action", "failed"),
    ("CKV_CS_2", "aws_iam_role_policy.fail_service_star_action", "failed"),
    ("CKV_CS_2", "aws_iam_policy.fail_not_action", "failed"),
    ("CKV_CS_2", "aws_iam_role_policy.pass_named_actions", "passed"),
    ("CKV_CS_4", "aws_cloudwatch_log_group.fail_no_retention", "failed"),
    ("CKV_CS_4", "aws_cloudwatch_log_group.fail_zero_retention", "failed"),
    ("CKV_CS_4", "aws_cloudwatch_log_group.pass_retention", "passed"),
    ("CKV_CS_5", "aws_lambda_function.fail_dw_outside_vpc", "failed"),
    ("CKV_CS_5", "aws_lambda_function.pass_dw_in_vpc", "passed"),
    ("CKV_CS_6", "aws_iam_role_policy_attachment.fail_s3_full_access", "failed"),
    ("CKV_CS_6", "aws_iam_role_policy_attachment.pass_basic_execution", "passed"),
    ("CKV_CS_7", "aws_s3_bucket_policy.fail_no_tls_deny", "failed"),
    ("CKV_CS_7", "aws_s3_bucket_policy.pass_tls_deny", "passed"),
]
# Data sources are not in planned_values, so the policy-document check runs on source only.
SOURCE_ONLY_CASES = [
    ("CKV_CS_3", "aws_iam_policy_document.fail_doc_service_star", "failed"),
    ("CKV_CS_3", "aws_iam_policy_document.pass_doc_named", "passed"),
    ("CKV_CS_3", "aws_iam_policy_document.pass_doc_key_policy", "passed"),
]


def _case_id(case: tuple[str, str, str]) -> str:
    return f"{case[0]}-{case[1].split('.', 1)[1]}"


@pytest.mark.parametrize("scan", ["source", "plan"])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_custom_check_verdict(fixture_gate: GateRun, scan: str, case: tuple[str, str, str]) -> None:
    check_id, resource, expected = case
    assert fixture_gate.results(check_id=check_id, resource=resource, scan=scan) == {expected}


@pytest.mark.parametrize("case", SOURCE_ONLY_CASES, ids=_case_id)
def test_policy_document_check_verdict(fixture_gate: GateRun, case: tuple[str, str, str]) -> None:
    check_id, resource, expected = case
    assert fixture_gate.results(check_id=check_id, resource=resource, scan="source") == {expected}


def test_every_custom_check_is_loaded_and_exercised(fixture_gate: GateRun) -> None:
    """checkov logs and ignores a check file that fails to import; a missing id shows it here."""
    files = (REPO_ROOT / "policies").glob("cs_*.py")
    defined = {m for p in files for m in re.findall(r'id="(CKV_CS_\d+)"', p.read_text())}
    assert defined == {f"CKV_CS_{i}" for i in range(1, 8)}
    seen = {(f["check_id"], f["result"]) for f in fixture_gate.findings}
    for check_id in defined:
        assert (check_id, "failed") in seen, f"{check_id} never failed: not loaded?"
        assert (check_id, "passed") in seen, f"{check_id} never passed"


@pytest.mark.parametrize("scan", ["source", "plan"])
def test_an_inline_skip_applies_to_its_own_module_only(fixture_gate: GateRun, scan: str) -> None:
    """Both modules name their group ``this``; only module a's skip may silence module a."""
    a = fixture_gate.results(check_id="CKV_CS_1", resource="module.a.aws_security_group.this", scan=scan)
    b = fixture_gate.results(check_id="CKV_CS_1", resource="module.b.aws_security_group.this", scan=scan)
    assert a == {"skipped"}
    assert b == {"failed"}
    skipped = [f for f in fixture_gate.findings if f["check_id"] == "CKV_CS_1" and f["result"] == "skipped"
               and f["scan"] == scan]
    assert {f["file"] for f in skipped} == {"tests/policy/fixtures/skips/mod_a/main.tf"}
    assert all("the skip must apply here only" in f["reason"] for f in skipped)
