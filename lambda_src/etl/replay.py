"""Reload one received-date partition: ``python -m etl.replay --date YYYY-MM-DD``.

Uses the same environment as the Lambda (RAW_BUCKET, RAW_PREFIX, DW_DSN or DW_* + SSM). It
takes the same warehouse lock (a lease, etl.db.RunLock) as scheduled runs, so it never
overlaps one, and it is idempotent: replaying a loaded day adds no rows. It also tries the
day's failed objects again, marked or not.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

import orjson
from common import jsonlog

from etl.config import ConfigError, Settings
from etl.db import WarehouseUnavailable
from etl.runner import replay_day


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl.replay", description=__doc__.splitlines()[0])
    parser.add_argument("--date", required=True, type=date.fromisoformat, help="received day, YYYY-MM-DD")
    args = parser.parse_args(argv)
    jsonlog.to_stderr()  # stdout is this command's result
    try:
        summary = replay_day(Settings.from_env(), args.date)
    except (ConfigError, WarehouseUnavailable) as exc:
        print(f"replay failed: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 1 if summary.get("skipped") or summary.get("files_failed") else 0


if __name__ == "__main__":
    sys.exit(main())
