"""`make check`: which required tools are present, and exactly how to get the missing ones."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from clickstream.postgres import PostgresError, find_bindir
from clickstream.terraform import PLUGIN_MIRROR, TerraformError, terraform_binary


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return ""


def lambda_python() -> str | None:
    """A CPython 3.12 to run Lambda artifacts as the python3.12 runtime would.

    pyenv installs are preferred by path: a pyenv *shim* for a version that is not selected
    exists on PATH but fails when run.
    """
    candidates = sorted(Path.home().glob(".pyenv/versions/3.12.*/bin/python3.12"), reverse=True)
    candidates += [Path(p) for p in (shutil.which("python3.12"),) if p]
    for c in candidates:
        if _version([str(c), "-c", "import sys; print(sys.version_info[:2] == (3, 12))"]) == "True":
            return str(c)
    return None


def checks() -> list[Check]:
    out: list[Check] = []
    try:
        tf = terraform_binary()
        v = _version([tf, "version"])
        m = re.search(r"v(\d+)\.(\d+)", v)
        ok = bool(m and (int(m[1]), int(m[2])) >= (1, 11))
        out.append(Check("terraform >= 1.11", ok, v if ok else f"{v}: upgrade to 1.11.x"))
    except TerraformError as exc:
        out.append(Check("terraform >= 1.11", False, str(exc)))
    mirror = PLUGIN_MIRROR / "registry.terraform.io/hashicorp/aws"
    out.append(Check(
        "aws provider source", True,
        f"offline mirror {mirror}" if mirror.is_dir() else "no offline mirror: providers download from the registry",
        required=False,
    ))
    try:
        bindir = find_bindir()
        out.append(Check("PostgreSQL server", True, f"{bindir} ({_version([str(bindir / 'postgres'), '--version'])})"))
    except PostgresError as exc:
        out.append(Check("PostgreSQL server", False, str(exc)))
    py312 = lambda_python()
    out.append(Check(
        "python3.12 (Lambda runtime for e2e)", py312 is not None,
        py312 or "install CPython 3.12 (`pyenv install 3.12`, or your OS package) so e2e tests "
        "run the Lambda zips on the same Python as the python3.12 runtime",
    ))
    node = shutil.which("node")
    out.append(Check("node (tracker tests)", node is not None,
                     _version([node, "--version"]) if node else "apt-get install nodejs (>= 18)"))
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    out.append(Check("chromium (browser tests)", chromium is not None,
                     chromium or "apt-get install chromium chromium-driver"))
    return out


def main() -> int:
    results = checks()
    width = max(len(c.name) for c in results)
    for c in results:
        mark = "ok " if c.ok else ("MISSING" if c.required else "note")
        print(f"  {c.name:<{width}}  {mark:<7}  {c.detail}")
    missing = [c for c in results if c.required and not c.ok]
    if missing:
        print(f"\n{len(missing)} required tool(s) missing; see the lines above.", file=sys.stderr)
        return 1
    print("\nall required tools present")
    return 0


if __name__ == "__main__":
    sys.exit(main())
