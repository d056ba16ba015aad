"""The browser tracker's node:test suite, run from pytest so `make test` covers it.

Also a cross-language contract check: envelopes produced by the real tracker module (driven
by the same fakes the node tests use) are validated by the ingest Lambda's compiled validator,
so the tracker and the Lambda cannot drift apart silently.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from ingest.validation import Validators

from clickstream import REPO_ROOT

pytestmark = pytest.mark.unit

TRACKER = REPO_ROOT / "web" / "tracker"


def _node() -> str:
    node = shutil.which("node")
    assert node, "Node.js >= 20 is required for the tracker tests (`make system-deps` installs it)"
    return node


def test_node_test_suite_passes() -> None:
    proc = subprocess.run(
        [_node(), "--test", "web/tracker/test/"], cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=120,
    )
    summary = {
        k: int(v) for k, v in (
            line[2:].split(" ", 1) for line in proc.stdout.splitlines()
            if line.startswith("# ") and line[2:].split(" ", 1)[0] in ("pass", "fail", "cancelled")
        )
    }
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert summary["fail"] == 0 and summary["cancelled"] == 0
    assert summary["pass"] >= 10, summary


def test_tracker_output_is_accepted_by_the_lambda_validator() -> None:
    proc = subprocess.run(
        [_node(), str(TRACKER / "testing" / "emit_sample.mjs")], capture_output=True, text=True,
        timeout=60, check=True,
    )
    envelopes = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert envelopes, proc.stderr
    v = Validators(500)
    names = set()
    for env in envelopes:
        assert v.envelope_error(env) is None
        for ev in env["events"]:
            assert v.event_error(ev) is None, (ev, v.event_error(ev))
            names.add(ev["event_name"])
    # Every event name of the contract went through the real validator.
    assert len(names) == 12
