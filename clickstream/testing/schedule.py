"""The order test files are handed to the xdist workers in: the longest first.

Why: `make test` runs ``-n 2 --dist loadfile``, so xdist hands out whole files in the order it
is given them, and a worker takes its next file when it is nearly done with the current one.
A five-minute file handed out last is a five-minute tail with the other worker idle; handed
out first it runs beside everything else (longest processing time first, the usual greedy
for two machines). The few files that take minutes are known (each applies or plans whole
environments), so they are listed here with what they took, not measured per run.

Files whose tests only read a result a background process made come last instead: the
policy tests read the security gate, which starts at collection (tests/policy/conftest.py)
and is done by the end, so reached last they take seconds instead of holding a worker idle.

xdist 3.8 also reorders files by number of tests by default (``--loadscope-reorder``), which
puts these files (few tests, each on a whole apply) last: tests/conftest.py turns it off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

T = TypeVar("T")

#: Seconds each slow file takes in a quiet `make test` (``--durations``: setup, calls and
#: teardown; test_envs and test_hosts_apply are estimates from their parts' timings); only
#: the order they give matters. A file not listed counts as fast.
EXPECTED_SECONDS: Mapping[str, float] = {
    "tests/plan/test_envs.py": 400,  # three env plans and six refusal plans, each a full plan
    "tests/e2e/test_local_env.py": 260,  # envs/local applied, 3000 events loaded, destroyed
    "tests/e2e/test_hosts_apply.py": 220,  # two examples applied side by side, re-planned, destroyed
    "tests/e2e/test_demo.py": 155,  # the whole `make demo`, envs/local applied again
}

#: Folders whose files go last (they read a run started in the background at collection).
LAST: tuple[str, ...] = ("tests/policy/",)


def keep_collection_order(config: object) -> None:
    """Turn off xdist's reordering of files by number of tests (a no-op without xdist)."""
    option = getattr(config, "option", None)
    if hasattr(option, "loadscopereorder"):
        option.loadscopereorder = False


def file_of(nodeid: str) -> str:
    """The file part of a pytest node id (``tests/x/test_y.py::test_z[p]`` -> ``tests/x/test_y.py``)."""
    return nodeid.split("::", 1)[0]


def longest_first(
    items: Sequence[T],
    nodeid: Callable[[T], str],
    expected: Mapping[str, float] = EXPECTED_SECONDS,
    last: tuple[str, ...] = LAST,
) -> list[T]:
    """``items`` regrouped by file: the slow files longest first, then the others in collection
    order, then the files under ``last``; the items of a file keep their order (module
    fixtures and a file's final teardown test rely on it)."""
    files: dict[str, list[T]] = {}
    for item in items:
        files.setdefault(file_of(nodeid(item)), []).append(item)

    def key(entry: tuple[int, str]) -> tuple[int, float, int]:
        index, path = entry
        group = 2 if path.startswith(last) else 0 if path in expected else 1
        return group, -expected.get(path, 0.0), index

    ordered = sorted(enumerate(files), key=key)
    return [item for _, path in ordered for item in files[path]]
