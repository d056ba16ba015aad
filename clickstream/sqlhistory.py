"""A SQL folder as it was before a given migration, from git, for upgrade tests and baselines.

An upgrade is only proven on a database that was really built by the previous head: its
migrations and its definitions (functions, triggers) as they were then, not the current
definitions on the old schema. The previous head is the parent of the commit that added the
migration; while the migration is not committed yet, it is ``HEAD``. The files are read with
``git show`` from the repository this package sits in, so this needs a git checkout with that
history (a shallow clone of depth 1 lacks it, and the error says so).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from clickstream import REPO_ROOT


def _git(*args: str) -> str:
    proc = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True,
                          timeout=60, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def before_migration(folder: str, migration: str) -> str:
    """The commit whose ``folder`` (e.g. ``sql/dw``) is the last one without ``migration``."""
    added = _git("log", "--diff-filter=A", "--format=%H", "--", f"{folder}/{migration}").split()
    return f"{added[-1]}^" if added else "HEAD"


def export(folder: str, commit: str, dest: Path) -> Path:
    """Write ``folder`` as of ``commit`` into ``dest`` (created) and return ``dest``."""
    names = _git("ls-tree", "-r", "--name-only", commit, "--", folder).split()
    if not names:
        raise RuntimeError(f"{folder} does not exist at {commit}")
    for name in names:
        out = dest / Path(name).relative_to(folder)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(subprocess.run(["git", "-C", str(REPO_ROOT), "show", f"{commit}:{name}"],
                                       capture_output=True, timeout=60, check=True).stdout)
    return dest


def previous_head(folder: str, migration: str, dest: Path) -> Path:
    """``folder`` as the database had it before ``migration`` (see the module docstring)."""
    return export(folder, before_migration(folder, migration), dest)
