"""The Makefile's user-facing targets fail clearly on bad input instead of half-running."""

from __future__ import annotations

import os
import subprocess
import sys

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
    assert "ENV must be one of dev, local, prod" in proc.stderr


def test_plan_without_terraform_says_how_to_install_it() -> None:
    proc = make("plan", "ENV=dev", TERRAFORM="/nonexistent/terraform")
    assert proc.returncode != 0
    assert "terraform not found" in proc.stderr
    assert "developer.hashicorp.com/terraform/install" in proc.stderr


def test_help_lists_every_documented_target() -> None:
    out = make("help").stdout
    for target in ("setup", "test", "test-slow", "test-unit", "test-plan", "test-policy", "test-e2e", "lint", "docs",
                   "fmt", "build", "preflight", "plan", "apply", "destroy", "security", "bench", "demo", "clean"):
        assert f"  {target} " in out, target


@pytest.mark.parametrize("env", ["nope", "", "dev;rm -rf /"])
def test_preflight_with_an_unknown_env_is_refused(env: str) -> None:
    proc = make("preflight", f"ENV={env}", f"VENV={sys.prefix}")
    assert proc.returncode != 0
    assert "ENV must be one of dev, local, prod" in proc.stderr


def test_preflight_of_local_without_an_emulator_refuses_with_exit_2() -> None:
    """No AWS call is made: envs/local is for the emulator, and no endpoint is set."""
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    proc = subprocess.run(["make", "--no-print-directory", "preflight", "ENV=local", f"VENV={sys.prefix}"],
                          cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "ENV=local targets the AWS emulator but AWS_ENDPOINT_URL is not set" in proc.stderr
    assert "  target " in proc.stdout  # the summary table is printed too
