"""The control mapping (clickstream/security/controls.yaml) against the gate that reports on it.

The coverage table of reports/security.md is only as good as this data: a check the gate
reports that no control names is a finding a reviewer cannot place, a check id with a typo
makes its control read "not evaluated" forever, and a malformed file must stop the gate with
a message that names the entry, not a traceback or a table with a row missing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from clickstream import REPO_ROOT
from clickstream.security.controls import CONTROLS_FILE, load_controls, mapped_checks
from clickstream.security.model import SecurityError
from clickstream.security.reports import custom_checks
from clickstream.security.runs import checkov_binary
from tests.policy.conftest import GateRun

# Waiting for a gate run may outlast pytest's 900 s per test on a loaded machine; the gate's
# own limit (1500 s, conftest.py) then says what it waited for.
pytestmark = [pytest.mark.policy, pytest.mark.timeout(1800)]


def test_every_custom_check_has_a_control() -> None:
    custom = {cid for cid, *_ in custom_checks()}
    assert custom, "no CKV_CS_* check found in policies/"
    assert custom - mapped_checks(load_controls()) == set()


@pytest.mark.slow
def test_every_check_the_gate_reports_against_the_repository_has_a_control(repo_gate: GateRun) -> None:
    """Every failed or skipped finding (what a reviewer must judge) belongs to some control."""
    reported = {f["check_id"] for f in repo_gate.findings if f["result"] != "passed" and f["scan"] != "secrets"}
    assert reported, "the gate reported no failed or skipped finding: the test would prove nothing"
    unmapped = reported - mapped_checks(load_controls())
    assert unmapped == set(), f"add these checks to a control in {CONTROLS_FILE.name}: {sorted(unmapped)}"


def test_every_mapped_check_is_one_checkov_or_policies_defines() -> None:
    """A typo in a check id would leave its control "not evaluated" for ever."""
    listed = subprocess.run([str(checkov_binary()), "--list"], capture_output=True, text=True, timeout=600,
                            check=True).stdout
    known = set(re.findall(r"\bCKV2?_[A-Z0-9]+_\d+\b", listed)) | {cid for cid, *_ in custom_checks()}
    assert len(known) > 500, "checkov --list did not list its checks"
    assert mapped_checks(load_controls()) - known == set()


def test_the_mapping_names_only_tests_that_exist() -> None:
    for control in load_controls():
        for entry in control.tests:
            assert (REPO_ROOT / entry.split(" ", 1)[0]).is_file(), f"{control.id}: {entry}"


VALID = """controls:
  - id: "S3.1"
    requirement: "Block public access"
    checks: [CKV_AWS_53]
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("controls: []\n", "expected a top-level 'controls:' list"),
        ("- id: S3.1\n", "expected a top-level 'controls:' list"),
        ("controls:\n  - id: S3.1\n    checks: [CKV_AWS_53]\n", r"controls\[0\]: missing field\(s\) requirement"),
        (VALID.replace("CKV_AWS_53", "CKV-AWS-53"), r"controls\[0\] \(S3.1\): not checkov check ids: \['CKV-AWS-53'\]"),
        (VALID.replace("[CKV_AWS_53]", "[]"), r"controls\[0\] \(S3.1\): 'checks' must be a non-empty list"),
        (VALID.replace("[CKV_AWS_53]", "CKV_AWS_53"), r"'checks' must be a non-empty list"),
        (VALID + "    severity: high\n", r"controls\[0\]: unknown field\(s\) severity"),
        (VALID + VALID.split("\n", 1)[1], "control S3.1 is listed twice"),
        (VALID + "    tests: tests/policy/test_gate.py\n", "'tests' must be a list of non-empty strings"),
        ("controls:\n  - [S3.1]\n", r"controls\[0\]: must be a mapping"),
        ("controls:\n  - id: S3.1\n    requirement: [\n", "cannot be read"),
    ],
)
def test_a_malformed_mapping_is_refused_naming_the_entry(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "controls.yaml"
    path.write_text(text)
    with pytest.raises(SecurityError, match=message) as raised:
        load_controls(path)
    assert str(path) in str(raised.value)


def test_the_valid_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "controls.yaml"
    path.write_text(VALID)
    [control] = load_controls(path)
    assert (control.id, control.checks, control.tests) == ("S3.1", ("CKV_AWS_53",), ())


def test_the_gate_stops_before_scanning_on_a_malformed_mapping(tmp_path: Path) -> None:
    """Exit 2 with the entry named, and no report written: nothing was scanned."""
    bad = tmp_path / "controls.yaml"
    bad.write_text(VALID.replace("CKV_AWS_53", "S3-public"))
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "clickstream.security", "--controls", str(bad), "--reports", str(reports),
         "--no-plans", "--no-secrets", "--source", "tests/policy/fixtures/skips"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "security gate could not run" in proc.stderr
    assert f"{bad}: controls[0] (S3.1): not checkov check ids: ['S3-public']" in proc.stderr
    assert not reports.exists()
