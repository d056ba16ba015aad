"""`make check` (clickstream.prereqs): a missing or old tool is named with how to get it, and
only required tools fail the check (a missing provider mirror is a note)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clickstream import prereqs

pytestmark = pytest.mark.harness


def _fake_terraform(tmp_path: Path, version: str) -> Path:
    tf = tmp_path / "terraform"
    tf.write_text(f"#!/bin/sh\necho 'Terraform v{version}'\n")
    tf.chmod(0o755)
    return tf


def _by_name(checks: list[prereqs.Check]) -> dict[str, prereqs.Check]:
    return {c.name: c for c in checks}


def test_an_old_terraform_is_refused_with_the_version_to_get(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TERRAFORM", str(_fake_terraform(tmp_path, "1.9.8")))
    check = _by_name(prereqs.checks())["terraform >= 1.11"]
    assert not check.ok and check.required
    assert check.detail == "Terraform v1.9.8: upgrade to 1.11.x"


def test_a_current_terraform_passes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TERRAFORM", str(_fake_terraform(tmp_path, "1.11.4")))
    check = _by_name(prereqs.checks())["terraform >= 1.11"]
    assert check.ok and check.detail == "Terraform v1.11.4"


def test_missing_tools_fail_make_check_and_say_how_to_install_them(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("TERRAFORM", str(tmp_path / "no-terraform"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no node, no chromium, no pg_ctl on PATH
    monkeypatch.setattr(prereqs, "lambda_python", lambda: None)
    assert prereqs.main() == 1
    out, err = capsys.readouterr()
    lines = {line.split("  ")[1].strip(): line for line in out.splitlines() if line.startswith("  ")}
    assert "MISSING" in lines["terraform >= 1.11"] and "terraform not found" in lines["terraform >= 1.11"]
    assert "MISSING" in lines["node (tracker tests)"] and "apt-get install nodejs" in lines["node (tracker tests)"]
    assert "apt-get install chromium" in lines["chromium (browser tests)"]
    assert "pyenv install 3.12" in lines["python3.12 (Lambda runtime for e2e)"]
    # The provider mirror is optional: never MISSING, whichever way it is.
    assert "MISSING" not in lines["aws provider source"]
    assert "required tool(s) missing" in err
