"""Run the benchmarks and write one JSON report.

Speed targets are measured here, never asserted in tests: a timed assertion is flaky on a
shared 2-core machine, while a benchmark reports the figure next to a baseline measured in the
same run on the same machine, which is what a reader can compare.

    python -m clickstream.bench                 # all benchmarks, full sizes
    python -m clickstream.bench --quick ingest  # one benchmark, smoke sizes
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import platform
import sys
import time
import traceback
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clickstream import REPO_ROOT
from clickstream.emulator import Emulator, emulator
from clickstream.postgres import PostgresServer, postgres_server

# The Lambda packages are imported the way the Lambda runtime sees them.
sys.path.insert(0, str(REPO_ROOT / "lambda_src"))


@dataclass
class BenchContext:
    """What a benchmark gets: the emulator, a lazily started PostgreSQL, size and a logger."""

    emulator: Emulator
    quick: bool
    stack: ExitStack
    _pg: PostgresServer | None = field(default=None, repr=False)

    @property
    def pg(self) -> PostgresServer:
        if self._pg is None:
            self.log("starting PostgreSQL")
            # pg_stat_statements: where PostgreSQL's time goes, per statement (bench etl).
            self._pg = self.stack.enter_context(postgres_server(preload=("pg_stat_statements",)))
        return self._pg

    def log(self, msg: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def available() -> list[str]:
    pkg = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(pkg)]) if not m.name.startswith("_"))


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all: {available()})")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "reports" / "bench.json")
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {available()}", file=sys.stderr)
        return 2
    if not names:
        print("no benchmarks are built yet (clickstream/bench/<name>.py)", file=sys.stderr)
        return 2
    report: dict[str, Any] = {"machine": machine(), "quick": args.quick, "started": time.time(), "results": {}}
    failed = False
    with ExitStack() as stack:
        emu = stack.enter_context(emulator(out_of_process=True))
        os.environ.update(emu.env)
        ctx = BenchContext(emulator=emu, quick=args.quick, stack=stack)
        for name in names:
            ctx.log(f"running {name}")
            t0 = time.perf_counter()
            try:
                result = importlib.import_module(f"clickstream.bench.{name}").run(ctx)
            except Exception as exc:  # a broken benchmark must not hide the others' figures
                failed = True
                result = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
                ctx.log(f"{name} failed: {exc}")
            result["wall_seconds"] = round(time.perf_counter() - t0, 2)
            report["results"][name] = result
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(json.dumps(report["results"], indent=2, default=str))
    print(f"wrote {args.out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
