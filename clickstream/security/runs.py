"""Running checkov: where it is, how it is called, what it prints, and what it is given.

checkov lives in its own virtualenv (its boto3 pins conflict with moto's), so the gate runs
it as a subprocess, one tree per process, and reads its JSON output back. The inputs it
needs built here: the list of text files for the secrets scan, and the enrichment tree the
plan scan maps findings back to source with.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from clickstream import REPO_ROOT
from clickstream.security.model import CHECKOV_CONFIG, SOURCE_TREES, PlanOutcome, SecurityError, rel

_BINARY_SUFFIXES = {".pyc", ".zip", ".png", ".jpg", ".jpeg", ".gif", ".ico", ".woff", ".woff2", ".whl", ".gz"}


def checkov_binary() -> Path:
    explicit = os.environ.get("CHECKOV")
    path = Path(explicit) if explicit else REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise SecurityError(
            f"checkov not found at {path}. It lives in its own virtualenv because its boto3 pins "
            "conflict with moto's: run `make setup` (or `python3 -m venv .venv-checkov && "
            ".venv-checkov/bin/pip install --group security`)."
        )
    return path


def checkov_command(*args: str, config: Path = CHECKOV_CONFIG) -> list[str]:
    return [str(checkov_binary()), "--config-file", str(config), "-o", "json", "--compact", *args]


def parse_checkov_json(stdout: str) -> list[dict]:
    """checkov prints one JSON document per runner (or a list, or several documents in a row)."""
    decoder, docs, i = json.JSONDecoder(), [], 0
    text = stdout.strip()
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        try:
            obj, i = decoder.raw_decode(text, i)
        except ValueError as exc:
            raise SecurityError(f"checkov printed something that is not JSON: {text[i:i + 300]!r}") from exc
        docs += obj if isinstance(obj, list) else [obj]
    return [d for d in docs if isinstance(d, dict)]


def run_checkov(args: list[str], label: str, log: Callable[[str], None]) -> tuple[list[dict], str]:
    """Run one checkov scan from the repo root; return its reports and stderr."""
    cmd = checkov_command(*args)
    started = time.monotonic()
    log(f"[checkov] {label} ...")
    env = {**os.environ, "LOG_LEVEL": os.environ.get("LOG_LEVEL", "ERROR")}
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800, env=env)
    if proc.returncode not in (0, 1):
        raise SecurityError(f"checkov {label} crashed (exit {proc.returncode}):\n{proc.stderr.strip()[-3000:]}")
    reports = parse_checkov_json(proc.stdout)
    log(f"[checkov] {label}: done ({time.monotonic() - started:.0f} s)")
    return reports, proc.stderr


def enrichment_root(plans: list[PlanOutcome], tmp: Path) -> Path:
    """A tree with only the Terraform the plans came from, at repo-relative paths.

    checkov parses the whole enrichment root; the repo root would drag in virtualenvs and the
    deliberately insecure test fixtures.
    """
    root = tmp / "enrichment"
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", "__pycache__")
    tops = set(SOURCE_TREES) | {rel(p.root).split("/")[0] for p in plans}
    for top in sorted(tops):
        if top in SOURCE_TREES and (REPO_ROOT / top).is_dir():
            shutil.copytree(REPO_ROOT / top, root / top, ignore=ignore, dirs_exist_ok=True)
    for p in plans:
        if p.root.split("/")[0] not in SOURCE_TREES and (REPO_ROOT / p.root).is_dir():
            shutil.copytree(REPO_ROOT / p.root, root / p.root, ignore=ignore, dirs_exist_ok=True)
    return root


def secret_files(trees: list[Path]) -> list[str]:
    """Every text file of the secrets trees, repo-relative (one ``-f`` list, one checkov run)."""
    files: list[str] = []
    for tree in trees:
        paths = [tree] if tree.is_file() else sorted(p for p in tree.rglob("*") if p.is_file())
        for p in paths:
            if {"__pycache__", "node_modules", ".terraform"} & set(p.parts) or p.suffix in _BINARY_SUFFIXES:
                continue
            files.append(rel(p))
    return files


def global_skips(config: Path = CHECKOV_CONFIG) -> list[str]:
    """``skip-check`` entries of .checkov.yaml, each with the comment line above it."""
    if not config.exists():
        return []
    import yaml

    data = yaml.safe_load(config.read_text()) or {}
    value = data.get("skip-check") or []
    return [value] if isinstance(value, str) else [str(v) for v in value]
