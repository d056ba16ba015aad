"""The order files reach the xdist workers in (clickstream.testing.schedule): longest first.

On a synthetic item list the slow files come first, longest first, the files under the
"last" folders come last, every other file keeps its place, and a file's tests keep their
order. Then a real ``-n 2 --dist loadfile`` run of a small synthetic tree shows xdist hands
the files out in that order (its default would sort them by number of tests instead).
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from clickstream import REPO_ROOT
from clickstream.testing.schedule import EXPECTED_SECONDS, LAST, file_of, longest_first

pytestmark = pytest.mark.harness

EXPECTED = {"tests/e2e/test_apply.py": 300.0, "tests/plan/test_envs.py": 420.0, "tests/e2e/test_demo.py": 150.0}


def _ids(files: dict[str, int]) -> list[str]:
    return [f"{path}::test_{i}" for path, n in files.items() for i in range(n)]


def test_slow_files_go_first_longest_first_and_the_last_folders_last() -> None:
    items = _ids({
        "tests/policy/test_gate.py": 2, "tests/e2e/test_demo.py": 1, "tests/unit/test_a.py": 3,
        "tests/e2e/test_apply.py": 2, "tests/harness/test_b.py": 1, "tests/plan/test_envs.py": 2,
        "tests/policy/test_controls.py": 1, "tests/unit/test_c.py": 1,
    })
    got = longest_first(items, str, expected=EXPECTED, last=("tests/policy/",))
    assert sorted(got) == sorted(items)
    files = list(dict.fromkeys(file_of(i) for i in got))
    assert files == [
        "tests/plan/test_envs.py", "tests/e2e/test_apply.py", "tests/e2e/test_demo.py",
        "tests/unit/test_a.py", "tests/harness/test_b.py", "tests/unit/test_c.py",
        "tests/policy/test_gate.py", "tests/policy/test_controls.py",
    ]
    # A file's tests stay together and in their own order (module fixtures, teardown tests).
    assert got[:2] == ["tests/plan/test_envs.py::test_0", "tests/plan/test_envs.py::test_1"]
    unit_a = [i for i in got if i.startswith("tests/unit/test_a.py")]
    assert unit_a == [f"tests/unit/test_a.py::test_{n}" for n in range(3)]


def test_interleaved_items_of_one_file_are_regrouped_in_their_order() -> None:
    items = ["tests/unit/test_x.py::a", "tests/e2e/test_apply.py::a", "tests/unit/test_x.py::b"]
    got = longest_first(items, str, expected=EXPECTED, last=())
    assert got == ["tests/e2e/test_apply.py::a", "tests/unit/test_x.py::a", "tests/unit/test_x.py::b"]


def test_the_listed_files_exist() -> None:
    """A renamed slow file would silently lose its place at the front."""
    missing = [f for f in EXPECTED_SECONDS if not (REPO_ROOT / f).is_file()]
    assert missing == []
    assert all((REPO_ROOT / folder).is_dir() for folder in LAST)


CONFTEST = """
from clickstream.testing.schedule import keep_collection_order, longest_first

def pytest_configure(config):
    keep_collection_order(config)

def pytest_collection_modifyitems(items):
    items[:] = longest_first(items, lambda i: i.nodeid, expected={expected!r}, last=("test_z",))
"""


def test_xdist_hands_out_files_in_that_order(tmp_path: Path) -> None:
    # Many-test files first in collection order: xdist's default reorder would keep them first.
    files = {"test_a_many.py": 4, "test_b_many.py": 4, "test_slow.py": 1, "test_slower.py": 1, "test_z_last.py": 4}
    for name, n in files.items():
        body = "".join(f"def test_{i}():\n    pass\n\n" for i in range(n))
        (tmp_path / name).write_text(body)
    expected = {"test_slow.py": 10.0, "test_slower.py": 20.0}
    (tmp_path / "conftest.py").write_text(textwrap.dedent(CONFTEST.format(expected=expected)))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "xdist", "-n", "2", "--dist", "loadfile", "-v",
         "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        # Only xdist: the project's other plugins (hypothesis, shiny, ...) add nothing here.
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # xdist starts each worker on the head of its queue, and each worker runs its files in turn.
    runs: dict[str, list[str]] = {}
    for worker, name in re.findall(r"\[(gw\d)\] \[\s*\d+%\] PASSED (test_\w+\.py)::", proc.stdout):
        if runs.setdefault(worker, [])[-1:] != [name]:
            runs[worker].append(name)
    assert sorted(files[0] for files in runs.values()) == ["test_slow.py", "test_slower.py"], proc.stdout[-3000:]
    (last,) = [files for files in runs.values() if "test_z_last.py" in files]
    assert last[-1] == "test_z_last.py", runs
