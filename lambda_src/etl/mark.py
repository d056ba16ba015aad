"""Mark an object the warehouse cannot load: ``python -m etl.mark --key K --reason R``.

An object whose read fails is retried by every run until it loads, and one whose bytes are
bad stays listed; either way it is in ``dw.v_unreadable_objects`` and the ETL's
UnreadableObjects metric (which alarms), and a read failure holds the watermark at its
day. That is on purpose: nothing is given up without someone deciding to. This command is
that decision, recorded: it sets ``marked_at``/``marked_by``/``mark_reason`` on the
object's manifest row and appends to ``dw.object_marks``. A marked object is no longer
retried, counted or alarmed on, and no longer holds the watermark; ``etl.replay`` of its
day still tries it. ``--clear`` undoes a mark (the object is owed again); ``--list`` prints
what is owed now.

Uses the same environment as the Lambda (DW_DSN, or DW_* with the SSM password).
Exit status: 0 done, 2 refused (unknown or loaded key, bad configuration, no warehouse).
"""

from __future__ import annotations

import argparse
import getpass
import sys

import orjson
import psycopg
from common import jsonlog

from etl import db
from etl.config import ConfigError, Settings

MARK_SQL = """
UPDATE dw.loaded_files SET marked_at = now(), marked_by = %(by)s, mark_reason = %(reason)s
 WHERE key = %(key)s AND status = 'failed' AND marked_at IS NULL
RETURNING key"""
CLEAR_SQL = """
UPDATE dw.loaded_files SET marked_at = NULL, marked_by = NULL, mark_reason = NULL,
       next_attempt_at = CASE WHEN failure = 'transient' THEN now() END
 WHERE key = %(key)s AND status = 'failed' AND marked_at IS NOT NULL
RETURNING key"""
HISTORY_SQL = """
INSERT INTO dw.object_marks (key, action, reason, marked_by) VALUES (%(key)s, %(action)s, %(reason)s, %(by)s)"""
LIST_SQL = """
SELECT key, dt::text, failure, attempts, error, next_attempt_at::text FROM dw.v_unreadable_objects
 ORDER BY dt, key"""


class Refused(Exception):
    """The mark cannot be made (the message says why)."""


def mark(conn: psycopg.Connection, key: str, reason: str, by: str, *, clear: bool = False) -> None:
    """Mark (or clear the mark of) one failed object, with its history row, in one transaction."""
    if not reason.strip():
        raise Refused("a reason is required (it is what the next person reads)")
    params = {"key": key, "reason": reason.strip()[:2000], "by": by[:200],
              "action": "clear" if clear else "mark"}
    with conn.transaction():
        if conn.execute(CLEAR_SQL if clear else MARK_SQL, params).fetchone() is None:
            row = conn.execute("SELECT status, marked_at IS NOT NULL FROM dw.loaded_files WHERE key = %s",
                               (key,)).fetchone()
            if row is None:
                raise Refused(f"{key} is not in the manifest (dw.loaded_files): nothing to mark")
            status, marked = row
            if status == "loaded":
                raise Refused(f"{key} is loaded: nothing is owed")
            raise Refused(f"{key} is {'already' if marked else 'not'} marked")
        conn.execute(HISTORY_SQL, params)


def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no USER/LOGNAME and no passwd entry (a container)
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl.mark", description=__doc__.splitlines()[0])
    parser.add_argument("--key", help="the object's S3 key, as dw.v_unreadable_objects lists it")
    parser.add_argument("--reason", help="why it is given up (or why the mark is cleared)")
    parser.add_argument("--by", default=None, help="who decides (default: the login name)")
    parser.add_argument("--clear", action="store_true", help="undo a mark: the object is owed again")
    parser.add_argument("--list", action="store_true", help="print the objects owed now")
    args = parser.parse_args(argv)
    jsonlog.to_stderr()  # stdout is this command's result
    if not args.list and not (args.key and args.reason):
        parser.error("--key and --reason are required (or --list)")
    try:
        conn = db.connect(Settings.from_env())
    except (ConfigError, db.WarehouseUnavailable) as exc:
        print(f"mark failed: {exc}", file=sys.stderr)
        return 2
    try:
        if args.list:
            rows = conn.execute(LIST_SQL).fetchall()
            cols = ("key", "dt", "failure", "attempts", "error", "next_attempt_at")
            sys.stdout.write(orjson.dumps([dict(zip(cols, r, strict=True)) for r in rows],
                                          option=orjson.OPT_INDENT_2).decode() + "\n")
            return 0
        by = args.by or _login()
        mark(conn, args.key, args.reason, by, clear=args.clear)
        print(f"{'cleared the mark of' if args.clear else 'marked'} {args.key} ({by}: {args.reason.strip()})")
        return 0
    except Refused as exc:
        print(f"mark refused: {exc}", file=sys.stderr)
        return 2
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
