"""Deterministic Lambda packages.

Terraform deploys a zip by its base64 SHA-256 (``source_code_hash``). If the same sources gave
different zips, every ``terraform plan`` would show a redeploy and the e2e harness could not
prove that the artifact it runs is the one Terraform deployed. So a build here is a pure
function of its inputs: files in a fixed order, fixed timestamps and permissions, no
``__pycache__``, wheels for the Lambda platform (manylinux x86_64, CPython 3.12) unpacked
from a pinned ``requirements.txt``.

Why not the ``archive`` provider or ``pip install --target``: the project may only use the
aws provider, and ``pip install`` writes timestamps, ``.pyc`` files and absolute paths that
make zips differ from run to run.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import logging
import subprocess
import sys
import zipfile
from pathlib import Path

from clickstream import REPO_ROOT

log = logging.getLogger(__name__)

LAMBDA_SRC = REPO_ROOT / "lambda_src"
BUILD_DIR = REPO_ROOT / "build" / "lambda"
WHEEL_CACHE = REPO_ROOT / ".cache" / "wheels"
SHARED_PACKAGES = ("common",)
#: The Lambda platform the wheels must match (runtime python3.12 on x86_64).
PYTHON_VERSION = "3.12"
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_SKIP_PARTS = {"__pycache__", "tests", ".pytest_cache"}


class BuildError(RuntimeError):
    """A Lambda could not be packaged (unknown name, wheel download failed, path clash)."""


def lambda_names(src: Path = LAMBDA_SRC) -> list[str]:
    """Every Lambda package: a folder of ``src`` with a handler.py."""
    return sorted(p.parent.name for p in src.glob("*/handler.py"))


def _requirements(name: str, src: Path) -> list[str]:
    path = src / name / "requirements.txt"
    if not path.exists():
        return []
    lines = [ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines()]
    reqs = [ln for ln in lines if ln]
    unpinned = [r for r in reqs if "==" not in r]
    if unpinned:
        raise BuildError(f"{path}: every requirement must be pinned with ==, not {unpinned}")
    return reqs


def download_wheels(reqs: list[str]) -> list[Path]:
    """Wheels for the Lambda platform, cached by the exact requirement set."""
    if not reqs:
        return []
    key = hashlib.sha256("\n".join(sorted(reqs)).encode()).hexdigest()[:16]
    dest = WHEEL_CACHE / f"py{PYTHON_VERSION}-{key}"
    marker = dest / ".complete"
    if not marker.exists():
        dest.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--only-binary=:all:", "--implementation", "cp", "--python-version", PYTHON_VERSION,
            *[a for p in PLATFORMS for a in ("--platform", p)],
            "--dest", str(dest), *reqs,
        ]
        log.info("downloading Lambda wheels: %s", " ".join(reqs))
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise BuildError(
                f"pip download failed for {reqs} (Lambda platform cp{PYTHON_VERSION.replace('.', '')} "
                f"manylinux x86_64):\n{proc.stderr.strip()[-2000:]}"
            )
        marker.write_text("\n".join(sorted(reqs)) + "\n")
    return sorted(dest.glob("*.whl"))


def _source_files(package: str, src: Path) -> dict[str, bytes]:
    root = src / package
    if not root.is_dir():
        raise BuildError(f"no package lambda_src/{package}")
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(src)
        if not path.is_file() or _SKIP_PARTS & set(rel.parts) or path.suffix == ".pyc":
            continue
        if path.name == "requirements.txt":
            continue
        files[rel.as_posix()] = path.read_bytes()
    return files


def _wheel_files(wheel: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            name = info.filename
            if info.is_dir() or "__pycache__" in name or name.endswith(".pyc"):
                continue
            files[name] = zf.read(info)
    return files


def package_contents(name: str, src: Path = LAMBDA_SRC) -> dict[str, bytes]:
    """Every file of the Lambda zip, keyed by its path in the zip."""
    if name not in lambda_names(src):
        raise BuildError(f"unknown Lambda {name!r}; known: {lambda_names(src)}")
    contents: dict[str, bytes] = {}
    sources = [_source_files(name, src)] + [
        _source_files(p, src) for p in SHARED_PACKAGES if (src / p).is_dir()
    ]
    wheels = [_wheel_files(w) for w in download_wheels(_requirements(name, src))]
    for part in [*sources, *wheels]:
        clash = contents.keys() & part.keys()
        if clash:
            raise BuildError(f"{name}: two sources provide {sorted(clash)[:5]}")
        contents.update(part)
    return contents


def deterministic_zip(contents: dict[str, bytes]) -> bytes:
    """Zip bytes that depend only on ``contents``: sorted names, fixed dates and modes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(contents):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the mode below is honoured
            info.external_attr = (0o100644 & 0xFFFF) << 16
            zf.writestr(info, contents[name], compresslevel=9)
    return buf.getvalue()


def b64sha256(data: bytes) -> str:
    """Base64 SHA-256, the form Terraform's ``source_code_hash`` and Lambda's CodeSha256 use."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def build_lambda(name: str, out_dir: Path = BUILD_DIR, src: Path = LAMBDA_SRC) -> tuple[Path, str]:
    """Build ``out_dir/<name>.zip`` (and ``.b64sha256`` beside it); return path and hash."""
    data = deterministic_zip(package_contents(name, src))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.zip"
    digest = b64sha256(data)
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    (out_dir / f"{name}.zip.b64sha256").write_text(digest + "\n")
    return path, digest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build deterministic Lambda zips into build/lambda/.")
    parser.add_argument("names", nargs="*", help=f"Lambdas to build (default: all of {lambda_names()})")
    parser.add_argument("--out", type=Path, default=BUILD_DIR, help="output folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    names = args.names or lambda_names()
    if not names:
        print("no Lambda packages found under lambda_src/ (a package needs handler.py)", file=sys.stderr)
        return 1
    try:
        for name in names:
            path, digest = build_lambda(name, args.out)
            size = path.stat().st_size
            print(f"{path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}  "
                  f"{size / 1024:.0f} KiB  sha256(b64)={digest}")
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
