"""The gate can fail: a deliberately insecure module must be caught, as source and as a plan."""

from __future__ import annotations

import pytest

from tests.policy.conftest import GateRun

# Waiting for a gate run may outlast pytest's 900 s per test on a loaded machine; the gate's
# own limit (1500 s, conftest.py) then says what it waited for.
pytestmark = [pytest.mark.policy, pytest.mark.timeout(1800)]

# (check, resource, what the mistake is): each must fail in the source scan and in the plan scan.
EXPECTED_FAILURES = [
    ("CKV_AWS_53", "aws_s3_bucket_public_access_block.public", "public bucket: public ACLs not blocked"),
    ("CKV_AWS_54", "aws_s3_bucket_public_access_block.public", "public bucket: public policies not blocked"),
    ("CKV_AWS_56", "aws_s3_bucket_public_access_block.public", "public bucket: public buckets not restricted"),
    ("CKV_AWS_70", "aws_s3_bucket_policy.public", "public bucket: policy for any principal"),
    ("CKV_CS_7", "aws_s3_bucket_policy.public", "bucket policy without the TLS-only deny"),
    ("CKV_CS_1", "aws_security_group.open_postgres", "PostgreSQL 5432 open to 0.0.0.0/0"),
    ("CKV_AWS_79", "aws_instance.imds_v1", "instance without IMDSv2"),
    ("CKV_AWS_88", "aws_instance.imds_v1", "instance with a public IP"),
    ("CKV_CS_4", "aws_cloudwatch_log_group.forever", "log group without retention"),
    ("CKV_CS_2", "aws_iam_role_policy.star", 'Lambda role policy with "*" action'),
    ("CKV_AWS_63", "aws_iam_role_policy.star", 'Lambda role policy with "*" action (built-in)'),
]


def test_the_gate_fails_on_the_insecure_fixture(fixture_gate: GateRun) -> None:
    assert fixture_gate.returncode == 1, fixture_gate.stderr[-2000:]
    assert fixture_gate.data["ok"] is False
    last = fixture_gate.stdout.strip().splitlines()[-1]
    assert last.startswith("security gate FAILED:"), last
    assert "unsuppressed failure(s)" in last


@pytest.mark.parametrize("scan", ["source", "plan"])
@pytest.mark.parametrize(("check_id", "resource", "why"), EXPECTED_FAILURES, ids=[e[2] for e in EXPECTED_FAILURES])
def test_each_insecure_resource_fails_its_check(
    fixture_gate: GateRun, scan: str, check_id: str, resource: str, why: str
) -> None:
    results = fixture_gate.results(check_id=check_id, resource=resource, scan=scan)
    assert results == {"failed"}, f"{why}: {check_id} on {resource} in the {scan} scan gave {results or 'nothing'}"


def test_the_public_acl_is_caught_in_source(fixture_gate: GateRun) -> None:
    # aws_s3_bucket_acl with public-read: CKV_AWS_379 is a source-only check in checkov 3.3.
    assert fixture_gate.results(check_id="CKV_AWS_379", resource="aws_s3_bucket_acl.public", scan="source") == {
        "failed"
    }


def test_the_secrets_scan_finds_the_leaked_key(fixture_gate: GateRun) -> None:
    hits = [f for f in fixture_gate.findings if f["scan"] == "secrets" and f["result"] == "failed"]
    assert {f["file"] for f in hits} == {"tests/policy/fixtures/insecure/leaked_credentials.py"}
    assert {f["lines"][0] for f in hits} >= {6}


def test_insecure_failures_are_listed_in_the_report(fixture_gate: GateRun) -> None:
    md = (fixture_gate.reports / "security.md").read_text()
    section = md.split("## Unsuppressed failures", 1)[1].split("\n## ", 1)[0]
    for check_id, resource, _ in EXPECTED_FAILURES:
        assert any(check_id in line and resource in line for line in section.splitlines()), (check_id, resource)
    assert "tests/policy/fixtures/insecure/main.tf:" in section
