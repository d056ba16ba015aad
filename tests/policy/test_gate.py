"""The gate over the repository: zero unsuppressed failures, everything scanned, readable reports.

``test_the_repository_has_no_unsuppressed_failures`` is the gate itself; until module owners fix
or justify their findings it fails and its message lists them (reports/security.md has the
full table).

Each test that reads the whole-repository gate is marked ``slow``: that gate plans every env
and example and runs checkov over the tree (4.6 minutes on a quiet 2-core machine), so it runs in
`make test-slow` (which CI runs after `make test`), not in `make test`. The same pipeline on
the small fixture trees (tests/policy/test_custom_checks.py, test_insecure_fixture.py) stays
in `make test`.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from clickstream import REPO_ROOT
from clickstream.security.gate import plan_roots
from clickstream.security.model import MIN_REASON_CHARS, SECRET_TREES, SOURCE_TREES
from tests.policy.conftest import GateRun

# Waiting for a gate run may outlast pytest's 900 s per test on a loaded machine; the gate's
# own limit (1500 s, conftest.py) then says what it waited for.
pytestmark = [pytest.mark.policy, pytest.mark.timeout(1800)]

SKIP_LINE = re.compile(r"(?:#|//|/\*)\s*checkov:skip=([A-Za-z0-9_,-]+)(?::(.*))?")


@pytest.mark.slow
def test_the_repository_has_no_unsuppressed_failures(repo_gate: GateRun) -> None:
    failed = [f for f in repo_gate.findings if f["result"] == "failed"]
    listing = "\n".join(
        f"  {f['check_id']:<12} {f['resource']}  {f['file']}:{f['lines'][0]}  ({f['scan']})" for f in failed
    )
    assert not failed, f"{len(failed)} unsuppressed failure(s):\n{listing}"


@pytest.mark.slow
def test_every_plan_was_produced_and_no_scan_errored(repo_gate: GateRun) -> None:
    broken = {p["root"]: p["error"].splitlines()[-1] for p in repo_gate.data["plans"] if p["error"]}
    assert not broken, broken
    assert repo_gate.data["errors"] == []


@pytest.mark.slow
def test_the_exit_status_matches_the_verdict(repo_gate: GateRun) -> None:
    last = repo_gate.stdout.strip().splitlines()[-1]
    assert last == repo_gate.data["summary"]
    assert (repo_gate.returncode == 0) is repo_gate.data["ok"]
    assert last.startswith("security gate PASSED" if repo_gate.data["ok"] else "security gate FAILED")


@pytest.mark.slow
def test_every_module_env_and_plan_root_is_scanned(repo_gate: GateRun) -> None:
    """New modules and envs are picked up by discovery, without registering them anywhere."""
    scanned = repo_gate.data["scanned"]
    for tree in SOURCE_TREES:
        if any((REPO_ROOT / tree).rglob("*.tf")):
            assert tree in scanned["source"]
    expected_plans = {p.relative_to(REPO_ROOT).as_posix() for p in plan_roots()}
    assert expected_plans <= set(scanned["plan"]), "a root appeared after the run started?"
    assert expected_plans, "no env or module example to plan"
    targets = {f["target"] for f in repo_gate.findings}
    for module in sorted((REPO_ROOT / "modules").glob("*/")):
        if any(module.glob("*.tf")):
            # A module that only composes modules/internal (its keys and buckets) and resources no
            # check applies to has its findings under modules/internal, where the blocks are.
            text = "".join(p.read_text() for p in module.glob("*.tf"))
            composed = re.search(r'source\s*=\s*"\.\./internal/', text) and "modules/internal" in targets
            assert f"modules/{module.name}" in targets or composed, f"modules/{module.name} produced no source findings"
    for root in expected_plans & set(scanned["plan"]):
        assert f"plan:{root}" in targets, f"plan of {root} produced no findings"
    assert set(scanned["secrets"]) == {t for t in SECRET_TREES if (REPO_ROOT / t).is_dir()}


def _repo_skip_comments() -> list[tuple[str, int, str, str]]:
    """Every inline skip in the scanned trees, found independently of the gate's own parser."""
    found = []
    for tree in (*SOURCE_TREES, *SECRET_TREES):
        for path in sorted((REPO_ROOT / tree).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts or path.suffix in {".zip", ".pyc"}:
                continue
            try:
                lines = path.read_text().splitlines()
            except UnicodeDecodeError:
                continue
            for no, line in enumerate(lines, 1):
                m = SKIP_LINE.search(line)
                if m:
                    found.append((path.relative_to(REPO_ROOT).as_posix(), no, m.group(1), (m.group(2) or "").strip()))
    return found


@pytest.mark.slow
def test_the_report_lists_every_inline_skip_with_its_reason(repo_gate: GateRun) -> None:
    md = (repo_gate.reports / "security.md").read_text()
    section = md.split("## Inline skip comments in the repository", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    for file, line, ids, reason in _repo_skip_comments():
        row = next((r for r in rows if r.startswith(f"| `{file}:{line}` |")), None)
        assert row is not None, f"{file}:{line} ({ids}) is missing from security.md"
        assert ids.split(",")[0] in row
        assert reason.replace("|", "\\|") in row, f"{file}:{line}: reason not shown"
        assert len(reason) >= MIN_REASON_CHARS or "**missing or too short:**" in row


@pytest.mark.slow
def test_every_skipped_finding_is_shown_with_its_reason(repo_gate: GateRun) -> None:
    md = (repo_gate.reports / "security.md").read_text()
    section = md.split("## Skipped findings", 1)[1].split("\n## ", 1)[0]
    for f in repo_gate.findings:
        if f["result"] == "skipped":
            assert f["reason"], f"{f['check_id']} on {f['resource']} skipped without a reason"
            assert any(f["check_id"] in row and f["reason"].replace("|", "\\|") in row for row in section.splitlines())


@pytest.mark.slow
def test_the_report_maps_the_fsbp_controls(repo_gate: GateRun) -> None:
    md = (repo_gate.reports / "security.md").read_text()
    section = md.split("## AWS Foundational Security Best Practices coverage", 1)[1].split("\n## ", 1)[0]
    for control in ("S3.1", "S3.4", "S3.5", "S3.8", "EC2.6", "EC2.7", "EC2.8", "EC2.9", "EC2.13", "EC2.19",
                    "Lambda.1", "Lambda.2", "Lambda.3", "APIGateway.1", "APIGateway.9", "KMS.4"):
        assert any(row.startswith(f"| {control} |") for row in section.splitlines()), control
    assert "IAM least privilege" in section
    assert "## Checks per module and environment" in md
    assert "## Global skips" in md


@pytest.mark.slow
def test_junit_and_sarif_agree_with_the_findings(repo_gate: GateRun) -> None:
    failed = sum(f["result"] == "failed" for f in repo_gate.findings)
    skipped = sum(f["result"] == "skipped" for f in repo_gate.findings)
    root = ET.parse(repo_gate.reports / "checkov.junit.xml").getroot()  # noqa: S314 - our own report
    assert root.tag == "testsuites"
    case_failures = root.findall(".//testcase/failure")
    plan_errors = sum(1 for p in repo_gate.data["plans"] if p["error"])
    assert len(case_failures) == failed + plan_errors + sum(
        len(s["reason"]) < MIN_REASON_CHARS for s in repo_gate.data["skip_comments"]
    )
    assert len(root.findall(".//testcase/skipped")) == skipped
    sarif = json.loads(Path(repo_gate.reports / "checkov.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert len(results) == failed + skipped
    suppressed = [r for r in results if r.get("suppressions")]
    assert len(suppressed) == skipped
    assert all(r["suppressions"][0]["justification"] for r in suppressed)
    rules = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in results} <= rules


def test_no_global_skips_without_a_written_reason() -> None:
    text = (REPO_ROOT / ".checkov.yaml").read_text()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^\s*skip-check\s*:", line) or (i and re.match(r"^\s*skip-check", lines[i - 1])):
            assert i > 0 and lines[i - 1].lstrip().startswith("#"), f"global skip without a comment: {line}"
