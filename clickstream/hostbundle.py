"""Deterministic host bundles: everything a database host installs, in one content-addressed file.

The private hosts have no internet, and the emulator cannot see inside an instance, so what a
host runs at boot must be one artifact the tests can run exactly as the host does
(docs/hosts.md). ``make host-bundle`` builds ``build/hosts/<role>.tar.gz`` for the warehouse
and the OLTP host: the bootstrap and its shell library, the systemd units, the role's SQL
folder (migrations and ``definitions/``) with the runner that applies it
(``clickstream/dbmigrate.py`` as ``lib/dbmigrate.py``, the harness's own file), and every
wheel of the host's venv (the dashboards and the host helper built from this
repository, the rest downloaded for the host's Python), with ``MANIFEST.json`` naming each
file's sha256.

Same tree, same bytes: entries sorted, owner root, modes 0755/0644, mtime 0, gzip without a
name or time; our own wheels are built with ``SOURCE_DATE_EPOCH`` (which setuptools honours
for the zip entries). So the bundle's sha256 changes exactly when what the host would run
changes, and the environment uses it in the object key, which replaces the instance.

Host platform: CPython 3.11 on x86_64 (Amazon Linux 2023's ``python3.11``; the modules admit
only x86_64 instance types and AMIs).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from clickstream import REPO_ROOT

log = logging.getLogger(__name__)

HOSTS_SRC = REPO_ROOT / "hosts"
BUILD_DIR = REPO_ROOT / "build" / "hosts"
WHEEL_CACHE = REPO_ROOT / ".cache" / "host-wheels"
LOCK = REPO_ROOT / "requirements.lock"
#: The one runner of the SQL folders (stdlib, yoyo, psycopg): the harness imports it, the host runs it.
RUNNER = REPO_ROOT / "clickstream" / "dbmigrate.py"
PYTHON_VERSION = "3.11"
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
#: pip itself travels as a wheel: the venv is made --without-pip and pip runs from its wheel.
PIP = "pip==25.3"
#: The setuptools our two local projects build with (their pyproject pins it too).
SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01, the earliest date a zip entry can hold


@dataclass(frozen=True)
class Role:
    """What one kind of host installs."""

    name: str
    migrations: str  # the repository's SQL folder of the role: migrations and definitions/
    local_projects: tuple[str, ...]  # folders under hosts/ built into wheels

    @property
    def requirements(self) -> list[str]:
        """Top-level distributions of the venv: the migration tool plus what our own projects
        declare in their pyproject (one list, so a new import is declared once)."""
        reqs = ["yoyo-migrations", "psycopg[binary]"]
        for project in self.local_projects:
            meta = tomllib.loads((HOSTS_SRC / project / "pyproject.toml").read_text())["project"]
            reqs += meta.get("dependencies", [])
        return sorted(set(reqs))


ROLES: dict[str, Role] = {
    "warehouse": Role("warehouse", "sql/dw", ("agent", "dashboards")),
    "oltp": Role("oltp", "sql/oltp", ("agent",)),
}
_SHELL_FILES = ("bootstrap", "backup")
_WHEEL_NAME = re.compile(r"^(?P<name>[A-Za-z0-9_.]+)-(?P<version>[^-]+)-")


class BundleError(RuntimeError):
    """A bundle could not be built (unknown role, unpinned dependency, download failed)."""


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(lock: Path = LOCK) -> dict[str, str]:
    """``name -> version`` of every pin in requirements.lock (the constraints CI tested)."""
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[_norm(name.split("[", 1)[0])] = version.strip()
    return pins


def _run(cmd: list[str], what: str, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    if proc.returncode != 0:
        raise BundleError(f"{what} failed:\n{(proc.stderr or proc.stdout).strip()[-3000:]}")


def build_local_wheel(project: str, out: Path) -> Path:
    """Wheel of ``hosts/<project>``, built in a staged copy so no egg-info lands in the tree.

    The dashboards project ships the repository's ``shiny_app`` package, copied in beside its
    pyproject, so the host runs the very files the tests run.
    """
    src = HOSTS_SRC / project
    with tempfile.TemporaryDirectory(prefix=f"hostbundle-{project}-") as tmp:
        stage = Path(tmp) / project
        shutil.copytree(src, stage, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build"))
        if project == "dashboards":
            shutil.copytree(REPO_ROOT / "shiny_app", stage / "shiny_app",
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "PYTHONHASHSEED": "0"}
        wheel_dir = Path(tmp) / "dist"
        _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
              "--wheel-dir", str(wheel_dir), str(stage)], f"building the {project} wheel", env)
        (wheel,) = wheel_dir.glob("*.whl")
        out.mkdir(parents=True, exist_ok=True)
        dest = out / wheel.name
        shutil.copyfile(wheel, dest)
        return dest


def download_wheels(requirements: list[str]) -> list[Path]:
    """Wheels for CPython 3.11 on manylinux x86_64, cached by the requirement set and the lock.

    The lock is passed as constraints, so the transitive dependencies are the versions CI
    tested rather than whatever is newest on the index today."""
    key = hashlib.sha256("\n".join([*sorted(requirements), LOCK.read_text()]).encode()).hexdigest()[:16]
    dest = WHEEL_CACHE / f"cp311-x86_64-{key}"
    marker = dest / ".complete"
    if not marker.exists():
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        log.info("downloading host wheels (cp311, manylinux x86_64): %s", " ".join(requirements))
        _run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
              "--only-binary=:all:", "--implementation", "cp", "--python-version", PYTHON_VERSION,
              *[a for p in PLATFORMS for a in ("--platform", p)], "--constraint", str(LOCK),
              "--dest", str(dest), *requirements],
             "pip download of the host wheels")
        marker.write_text("\n".join(sorted(requirements)) + "\n")
    return sorted(dest.glob("*.whl"))


def pinned_requirements(role: Role, pins: dict[str, str]) -> list[str]:
    """Every third-party top-level requirement of ``role`` pinned to the lock's version."""
    reqs = []
    for req in role.requirements:
        if re.search(r"[<>=!~ ;]", req):
            raise BundleError(f"{req!r}: host requirements name a distribution only; the version comes from the lock")
        base = _norm(req.split("[", 1)[0])
        if base not in pins:
            raise BundleError(f"{req} is not pinned in requirements.lock: the host would get an untested version")
        reqs.append(f"{req}=={pins[base]}")
    return reqs


def _wheel_version(path: Path) -> tuple[str, str]:
    m = _WHEEL_NAME.match(path.name)
    if not m:
        raise BundleError(f"not a wheel file name: {path.name}")
    return _norm(m["name"]), m["version"]


def bundle_files(role_name: str) -> dict[str, bytes]:
    """Every file of the bundle (path inside it -> bytes), MANIFEST.json included."""
    if role_name not in ROLES:
        raise BundleError(f"unknown host role {role_name!r}; known: {sorted(ROLES)}")
    role = ROLES[role_name]
    pins = locked_versions()
    files: dict[str, bytes] = {}
    for name in _SHELL_FILES:
        files[name] = (HOSTS_SRC / name).read_bytes()
    for sub in ("lib", "sql", "units"):
        for path in sorted((HOSTS_SRC / sub).iterdir()):
            if path.is_file():
                files[f"{sub}/{path.name}"] = path.read_bytes()
    sql_dir = REPO_ROOT / role.migrations
    migrations = sorted(sql_dir.glob("*.sql"))
    if not migrations:
        raise BundleError(f"{role.migrations} has no migrations")
    for path in [*migrations, *sorted(p for p in (sql_dir / "definitions").rglob("*") if p.is_file())]:
        files[f"migrations/{path.relative_to(sql_dir).as_posix()}"] = path.read_bytes()
    files["lib/dbmigrate.py"] = RUNNER.read_bytes()

    third_party = pinned_requirements(role, pins)
    wheels = download_wheels([*third_party, PIP])
    with tempfile.TemporaryDirectory(prefix="hostbundle-local-") as tmp:
        local = [build_local_wheel(p, Path(tmp)) for p in role.local_projects]
        for path in [*wheels, *local]:
            files[f"wheels/{path.name}"] = path.read_bytes()
    pins = {**pins, "pip": PIP.split("==")[1]}
    unpinned = [w.name for w in wheels if _wheel_version(w)[0] not in pins]
    if unpinned:
        raise BundleError(f"these host wheels are not pinned in requirements.lock: {unpinned}")
    drift = [w.name for w in wheels if pins[_wheel_version(w)[0]] != _wheel_version(w)[1]]
    if drift:
        raise BundleError(f"these host wheels differ from the versions in requirements.lock: {drift}")
    local_reqs = [f"{_wheel_version(Path(n))[0]}=={_wheel_version(Path(n))[1]}"
                  for n in sorted(files) if n.startswith("wheels/clickstream_")]
    if len(local_reqs) != len(role.local_projects):
        raise BundleError(f"expected {len(role.local_projects)} local wheels, built {local_reqs}")
    files["requirements.txt"] = ("\n".join(sorted([*third_party, *local_reqs])) + "\n").encode()
    files["MANIFEST.json"] = manifest(role, files)
    return files


def manifest(role: Role, files: dict[str, bytes]) -> bytes:
    """MANIFEST.json: one ``"key": "value"`` per line at the top (the bootstrap reads ``role``
    with sed, since jq is not in the AL2023 image), then the files' sha256."""
    head = {"role": role.name, "python": PYTHON_VERSION, "platform": "manylinux x86_64"}
    lines = ["{"] + [f'  "{k}": "{v}",' for k, v in head.items()]
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
    lines.append(f'  "files": {json.dumps(digests, indent=4, sort_keys=True)}')
    lines.append("}")
    return ("\n".join(lines) + "\n").encode()


def _mode(name: str) -> int:
    return 0o755 if name in _SHELL_FILES else 0o644


def deterministic_tar_gz(files: dict[str, bytes]) -> bytes:
    """A tar.gz that depends only on ``files``: sorted, root-owned, mtime 0, folders included."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = sorted({str(Path(n).parent) for n in files if "/" in n})
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime, info.uname, info.gname = tarfile.DIRTYPE, 0o755, 0, "root", "root"
            tar.addfile(info)
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime, info.uname, info.gname = len(files[name]), _mode(name), 0, "root", "root"
            tar.addfile(info, io.BytesIO(files[name]))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def build_bundle(role: str, out_dir: Path = BUILD_DIR) -> tuple[Path, str]:
    """Build ``out_dir/<role>.tar.gz`` and its ``.sha256`` (hex); return the path and the hash."""
    data = deterministic_tar_gz(bundle_files(role))
    digest = hashlib.sha256(data).hexdigest()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{role}.tar.gz"
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    (out_dir / f"{role}.tar.gz.sha256").write_text(digest + "\n")
    return path, digest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the database hosts' bundles into build/hosts/.")
    parser.add_argument("roles", nargs="*", help=f"roles to build (default: all of {sorted(ROLES)})")
    parser.add_argument("--out", type=Path, default=BUILD_DIR, help="output folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        for role in args.roles or sorted(ROLES):
            path, digest = build_bundle(role, args.out)
            shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
            print(f"{shown}  {path.stat().st_size / 1048576:.1f} MiB  sha256={digest}")
    except BundleError as exc:
        print(f"host bundle failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
