"""Runs of the security gate shared by the policy tests.

checkov over the whole tree takes minutes on two cores, so each gate run happens once per
session and the tests assert on what it wrote (``security.json``, the reports). The runs go
through the real entry point (``python -m clickstream.security``), each with its own
emulator, exactly as ``make security`` does, and the two runs of a session (the repository and
the fixtures) start together, as soon as the session's tests are collected: they run in the
background while the workers run other files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from clickstream import REPO_ROOT

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


def _gate_env() -> dict[str, str]:
    """The environment of a gate run: no emulator endpoint, so the gate starts its own moto.

    That is what ``make security`` does, and it keeps a gate that runs in the background
    (below) away from the session emulator, which other tests may reset meanwhile.
    """
    env = dict(os.environ)
    env.pop("AWS_ENDPOINT_URL", None)
    return env


class GateProcess:
    """A gate started now and read later: both gates of a session run side by side.

    Each run spends much of its time waiting (terraform plans, checkov loading its checks), so
    two runs together take little more than the longer one alone on two cores.
    """

    def __init__(self, args: list[str], reports: Path) -> None:
        self.reports = reports
        self._out = reports.parent / f"{reports.name}.stdout"
        self._err = reports.parent / f"{reports.name}.stderr"
        with self._out.open("w") as out, self._err.open("w") as err:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "clickstream.security", "--reports", str(reports), *args],
                cwd=REPO_ROOT, stdout=out, stderr=err, text=True, env=_gate_env(),
            )
        self._run: GateRun | None = None
        # The exit status on disk as soon as the run ends: what another worker waits for.
        threading.Thread(target=self._publish, name="gate-exit", daemon=True).start()

    def _publish(self) -> None:
        returncode = self._proc.wait()
        (self.reports.parent / f"{self.reports.name}.returncode").write_text(str(returncode))

    def result(self, timeout: float = 1500) -> GateRun:
        if self._run is None:
            try:
                returncode = self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
                pytest.fail(f"the gate did not finish in {timeout:.0f} s:\n{self._err.read_text()[-4000:]}")
            stdout, stderr = self._out.read_text(), self._err.read_text()
            data_path = self.reports / "security.json"
            if not data_path.exists():
                pytest.fail(f"the gate wrote no security.json (exit {returncode}):\n{stderr[-4000:]}")
            self._run = GateRun(returncode, stdout, stderr, self.reports, json.loads(data_path.read_text()))
        return self._run

    def wait(self, timeout: float = 1500) -> None:
        """Let the run end (killed after ``timeout``), whether or not a test read it."""
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


def _fixture_args() -> list[str]:
    """The fixtures only: three small roots as source and plan, and the one leaked-key file."""
    args: list[str] = []
    for root in (INSECURE, CHECK_CASES, SKIP_CASES):
        rel = root.relative_to(REPO_ROOT).as_posix()
        args += ["--source", rel, "--plan", rel]
    args += ["--secrets", (INSECURE / "leaked_credentials.py").relative_to(REPO_ROOT).as_posix()]
    return args


class SharedGate:
    """A gate run another xdist worker of this session started: read from its files when done.

    Each worker is its own pytest session, so without this both workers ran both gates (about
    ten minutes of checkov each on the same 2 cores) whenever gate tests landed on both.
    """

    def __init__(self, reports: Path) -> None:
        self.reports = reports
        self._done = reports.parent / f"{reports.name}.returncode"
        self._run: GateRun | None = None

    def result(self, timeout: float = 1500) -> GateRun:
        deadline = time.monotonic() + timeout
        while self._run is None:
            if self._done.exists():
                data_path = self.reports / "security.json"
                if not data_path.exists():
                    pytest.fail(f"the gate another worker ran wrote no security.json ({self._done.read_text()})")
                out = self.reports.parent / f"{self.reports.name}.stdout"
                err = self.reports.parent / f"{self.reports.name}.stderr"
                self._run = GateRun(int(self._done.read_text()), out.read_text(), err.read_text(), self.reports,
                                    json.loads(data_path.read_text()))
            elif time.monotonic() > deadline:
                pytest.fail(f"the gate another worker runs did not finish in {timeout:.0f} s")
            else:
                time.sleep(2)
        return self._run

    def stop(self) -> None:
        """The worker that started the run stops it."""


def _claim(shared: Path, name: str) -> bool:
    """True for the one worker of the session that runs gate ``name`` (an exclusive create)."""
    try:
        fd = os.open(shared / f"{name}.claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(fd)
    return True


#: The gate runs of this pytest session (one per worker under xdist), started at collection.
_RUNS = pytest.StashKey[dict[str, "GateProcess | SharedGate"]]()


def _start_gates(session: pytest.Session) -> dict[str, GateProcess | SharedGate]:
    """Start, once per test run, every gate run the selected tests use, all at the same time.

    Under xdist the workers share the run's base temporary folder: the first worker to need a
    gate claims and runs it there, and the other one reads what it wrote. Every worker
    collects every test, so both see the same gates wanted and exactly one claims each.
    """
    if _RUNS in session.config.stash:
        return session.config.stash[_RUNS]
    wanted = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    # What the tmp_path_factory fixture returns; fixtures do not exist yet at collection.
    base = session.config._tmp_path_factory.getbasetemp()
    shared = (base.parent if worker else base) / "security-gates"
    shared.mkdir(exist_ok=True)
    runs: dict[str, GateProcess | SharedGate] = {}
    plan = {"repo": ("repo_gate", []), "fixtures": ("fixture_gate", _fixture_args())}
    for name, (fixture, args) in plan.items():
        if fixture in wanted:
            runs[name] = GateProcess(args, shared / name) if _claim(shared, name) else SharedGate(shared / name)
    session.config.stash[_RUNS] = runs
    return runs


def pytest_collection_finish(session: pytest.Session) -> None:
    """The gates start as soon as the run's tests are known, not when the first policy test runs.

    A gate run is minutes of checkov and plans in a subprocess; started here it runs beside
    the other tests of both workers (many of them wait on Terraform's provider, not the CPU),
    so a policy test reached later finds it finished instead of holding its worker idle.
    """
    if not session.config.option.collectonly:
        _start_gates(session)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """An owner waits for its runs, so a reader never waits for a killed one; then all stop."""
    runs = session.config.stash.get(_RUNS, {})
    try:
        if exitstatus != pytest.ExitCode.INTERRUPTED:
            for run in runs.values():
                if isinstance(run, GateProcess):
                    run.wait()
    finally:
        for run in runs.values():
            run.stop()


@pytest.fixture(scope="session")
def _gates(request: pytest.FixtureRequest) -> dict[str, GateProcess | SharedGate]:
    """The gate runs started at collection (:func:`pytest_collection_finish`)."""
    return _start_gates(request.session)


@pytest.fixture(scope="session")
def repo_gate(_gates: dict[str, GateProcess]) -> GateRun:
    """The gate over the repository as `make security` runs it (default discovery)."""
    return _gates["repo"].result()


@pytest.fixture(scope="session")
def fixture_gate(_gates: dict[str, GateProcess]) -> GateRun:
    """The gate over the test fixtures: the insecure module, the custom-check cases, the skips."""
    return _gates["fixtures"].result()
