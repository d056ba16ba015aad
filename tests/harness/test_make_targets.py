"""The Makefile's user-facing targets fail clearly on bad input instead of half-running."""

from __future__ import annotations

import os
import subprocess

import pytest

from clickstream import REPO_ROOT

pytestmark = pytest.mark.harness


def make(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=REPO_ROOT, capture_output=True, text=True,
        env={**os.environ, **env}, timeout=120,
    )


@pytest.mark.parametrize("env", ["nope", "", "dev;rm -rf /", "../envs/dev"])
def test_plan_with_an_unknown_env_is_refused(env: str) -> None:
    proc = make("plan", f"ENV={env}")
    assert proc.returncode != 0
    assert "ENV must be one of dev, prod, local" in proc.stderr


def test_plan_without_terraform_says_how_to_install_it() -> None:
    proc = make("plan", "ENV=dev", TERRAFORM="/nonexistent/terraform")
    assert proc.returncode != 0
    assert "terraform not found" in proc.stderr
    assert "developer.hashicorp.com/terraform/install" in proc.stderr


def test_help_lists_every_documented_target() -> None:
    out = make("help").stdout
    for target in ("setup", "test", "test-unit", "test-plan", "test-policy", "test-e2e", "lint",
                   "fmt", "build", "plan", "apply", "destroy", "security", "bench", "demo", "clean"):
        assert f"  {target} " in out, target
