"""Lambda zips are a pure function of their sources and pinned wheels."""

from __future__ import annotations

import hashlib
import os
import time
import zipfile
from pathlib import Path

import pytest

from clickstream.build import BuildError, build_lambda, lambda_names

pytestmark = pytest.mark.harness


def _fake_src(root: Path, requirements: str = "") -> Path:
    (root / "fn").mkdir(parents=True)
    (root / "fn" / "__init__.py").write_text("")
    (root / "fn" / "handler.py").write_text("def handler(event, context):\n    return event\n")
    (root / "common").mkdir()
    (root / "common" / "__init__.py").write_text("VALUE = 1\n")
    (root / "fn" / "__pycache__").mkdir()
    (root / "fn" / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"junk")
    if requirements:
        (root / "fn" / "requirements.txt").write_text(requirements)
    return root


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_sources_give_the_same_bytes_whatever_the_mtimes(tmp_path: Path) -> None:
    src = _fake_src(tmp_path / "src", "orjson==3.13.0\n")
    first, hash1 = build_lambda("fn", tmp_path / "out1", src=src)
    # Touch every file: a naive zip would record the new timestamps.
    later = time.time() + 3600
    for p in src.rglob("*"):
        os.utime(p, (later, later))
    second, hash2 = build_lambda("fn", tmp_path / "out2", src=src)
    assert _sha(first) == _sha(second)
    assert hash1 == hash2
    assert (tmp_path / "out1" / "fn.zip.b64sha256").read_text().strip() == hash1


def test_zip_holds_the_package_the_shared_code_and_platform_wheels_only(tmp_path: Path) -> None:
    src = _fake_src(tmp_path / "src", "orjson==3.13.0\n")
    path, _ = build_lambda("fn", tmp_path / "out", src=src)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        infos = zf.infolist()
    assert names == sorted(names)
    assert "fn/handler.py" in names and "common/__init__.py" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert "fn/requirements.txt" not in names
    # The compiled orjson wheel is for the Lambda runtime (CPython 3.12 on x86_64), not ours.
    so_files = [n for n in names if n.startswith("orjson/") and n.endswith(".so")]
    assert so_files and all("cpython-312-x86_64-linux-gnu" in n for n in so_files)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_a_source_change_changes_the_hash(tmp_path: Path) -> None:
    src = _fake_src(tmp_path / "src")
    _, before = build_lambda("fn", tmp_path / "out", src=src)
    (src / "fn" / "handler.py").write_text("def handler(event, context):\n    return None\n")
    _, after = build_lambda("fn", tmp_path / "out", src=src)
    assert before != after


def test_unpinned_requirement_is_refused(tmp_path: Path) -> None:
    src = _fake_src(tmp_path / "src", "orjson>=3\n")
    with pytest.raises(BuildError, match="pinned"):
        build_lambda("fn", tmp_path / "out", src=src)


def test_unknown_lambda_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="unknown Lambda 'nope'"):
        build_lambda("nope", tmp_path / "out", src=_fake_src(tmp_path / "src"))


@pytest.mark.parametrize("name", lambda_names() or ["(none yet)"])
def test_every_real_lambda_builds_twice_to_the_same_sha256(name: str, tmp_path: Path) -> None:
    if name == "(none yet)":
        pytest.fail("no Lambda package under lambda_src/ has a handler.py")
    a, _ = build_lambda(name, tmp_path / "a")
    b, _ = build_lambda(name, tmp_path / "b")
    assert _sha(a) == _sha(b)
