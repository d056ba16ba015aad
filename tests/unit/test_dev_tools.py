"""The developer tools stay in step: pins in pyproject.toml and requirements.lock, and the
pre-commit hooks with `make lint` (a hook that drifted from the lint target would pass a
commit that CI's lint refuses, or the other way round)."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from clickstream import REPO_ROOT

pytestmark = pytest.mark.unit


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, str]:
    pins = {}
    for line in (REPO_ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_canonical(name)] = version
    return pins


def test_every_exact_pin_of_pyproject_is_in_the_lock_with_the_same_version() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    specs = project["project"]["dependencies"] + project["dependency-groups"]["dev"]
    lock = _lock()
    for spec in specs:
        name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]+\])?==(\S+)", spec).groups()
        assert lock.get(_canonical(name)) == version, f"{spec}: requirements.lock has {lock.get(_canonical(name))}"


def _lint_commands() -> list[str]:
    """The recipe of `make lint`, with the Makefile's variables as a clone's paths."""
    text = (REPO_ROOT / "Makefile").read_text()
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", text, re.M).group(1)
    return [line.strip().replace("$(VENV)/bin/", ".venv/bin/").replace("$(PY)", ".venv/bin/python")
            for line in recipe.splitlines()]


def test_pre_commit_hooks_run_what_make_lint_runs() -> None:
    config = yaml.safe_load((REPO_ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert all(repo["repo"] == "local" for repo in config["repos"])  # no hook repository to clone
    entries = {hook["entry"] for hook in hooks}
    lint = _lint_commands()
    assert len(lint) == 4
    for command in lint:
        # ruff gets the staged files instead of `.`; everything else runs whole, as in make lint.
        expected = command.removesuffix(" .") + " --force-exclude" if "ruff" in command else command
        assert expected in entries, f"make lint runs {command!r}, no pre-commit hook does"
    assert len(hooks) == len(lint)
    for hook in hooks:
        if "ruff" not in hook["entry"]:
            assert hook["pass_filenames"] is False, hook["id"]
