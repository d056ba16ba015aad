"""Runs of the security gate shared by the policy tests.

checkov over the whole tree takes minutes on two cores, so each gate run happens once per
session and the tests assert on what it wrote (``security.json``, the reports). The runs go
through the real entry point (``python -m clickstream.security``) against the session
emulator, exactly as ``make security`` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from clickstream import REPO_ROOT
from clickstream.emulator import Emulator

FIXTURES = Path(__file__).parent / "fixtures"
INSECURE = FIXTURES / "insecure"
CHECK_CASES = FIXTURES / "checks"
SKIP_CASES = FIXTURES / "skips"


@dataclass
class GateRun:
    """One finished run of the gate: exit status, console output and the reports it wrote."""

    returncode: int
    stdout: str
    stderr: str
    reports: Path
    data: dict[str, Any]

    @property
    def findings(self) -> list[dict[str, Any]]:
        return self.data["findings"]

    def results(self, *, check_id: str, resource: str, scan: str) -> set[str]:
        """Verdicts of one check on resources whose address ends with ``resource``."""
        return {
            f["result"] for f in self.findings
            if f["check_id"] == check_id and f["scan"] == scan
            and (f["resource"] == resource or f["resource"].endswith("." + resource))
        }


def run_gate(args: list[str], reports: Path, emulator: Emulator) -> GateRun:
    env = {**os.environ, **emulator.env}
    proc = subprocess.run(
        [sys.executable, "-m", "clickstream.security", "--reports", str(reports), *args],
        cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=1500,
    )
    data_path = reports / "security.json"
    if not data_path.exists():
        pytest.fail(f"the gate wrote no security.json (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return GateRun(proc.returncode, proc.stdout, proc.stderr, reports, json.loads(data_path.read_text()))


@pytest.fixture(scope="session")
def repo_gate(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> GateRun:
    """The gate over the repository as `make security` runs it (default discovery)."""
    return run_gate([], tmp_path_factory.mktemp("security-repo"), emulator)


@pytest.fixture(scope="session")
def fixture_gate(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> GateRun:
    """The gate over the test fixtures: the insecure module, the custom-check cases, the skips."""
    args: list[str] = []
    for root in (INSECURE, CHECK_CASES, SKIP_CASES):
        rel = root.relative_to(REPO_ROOT).as_posix()
        args += ["--source", rel, "--plan", rel]
    args += ["--secrets", (INSECURE / "leaked_credentials.py").relative_to(REPO_ROOT).as_posix()]
    return run_gate(args, tmp_path_factory.mktemp("security-fixtures"), emulator)
