"""Rollup refresh per day as days accumulate in a monthly partition (issue 15).

Two warehouses on the same server, filled identically, one day at a time as the ETL fills
them: ``previous`` is built by the SQL as it was before 0006_dw_events_day_index (its
migrations and definitions, read from git by :mod:`clickstream.sqlhistory`: a BRIN and a
session_id btree on dw.events, the device overview kept by a trigger that reads the day
twice more), ``head`` by the current SQL. After 3, 12 and 30 days of June are loaded, the
newest day is refreshed with ``dw.refresh_day`` in each, alternately, a few times; the
figures are the median seconds per refresh and what one refresh read from dw.events
(``pg_stat_xact_user_tables``: rows through sequential and index scans, scans) and what
the day scan touched (``EXPLAIN (ANALYZE, BUFFERS)`` of the scan the refresh makes: shared
buffer accesses, which an index scan counts again each time it comes back to a page, and rows
read and thrown away by a recheck or filter). Flat means the figures at 30 days are those at 3.

How the facts are loaded: server-side ``generate_series``, one statement per day (sessions
of 8 events; 1 percent of each day's events are late, stamped on an earlier day of the
month, as a replay or a slow client sends them), then that day's purchases and sessions,
then ``ANALYZE``. Autovacuum is off on the partition, as between two vacuums of a loading
warehouse: a BRIN then has the load's new pages unsummarised. The seconds each load took
are reported too: they include the index upkeep the two schemas differ in.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from clickstream.sqlhistory import previous_head
from clickstream.warehouse import MIGRATIONS_DIR, migrate

START = date(2024, 6, 1)
CHECKPOINTS = (3, 12, 30)
UPGRADE = "0006_dw_events_day_index.sql"

# One day of facts: %(n)s events of day %(day)s, ids from %(base)s, file_id %(f)s.
LOAD_EVENTS = """
INSERT INTO dw.events (event_id, event_ts, event_name, received_at, app_id, anonymous_id,
                       session_id, user_id, page_path, referrer_domain, utm_source, value,
                       currency, transaction_id, items, device_category, is_bot, file_id)
WITH ev AS (
    SELECT i, i / 8 AS sid, i %% 8 AS pos, (hashint4(i / 8) & 2147483647) %% 100 AS lvl,
           (hashint4(i) & 2147483647) %% 96 AS pid, (hashint4(i * 7) & 2147483647) %% 100 AS late
      FROM generate_series(%(base)s::int, %(base)s::int + %(n)s::int - 1) AS i
), named AS (
    SELECT ev.*,
           CASE pos WHEN 0 THEN 'page_view' WHEN 1 THEN 'view_item_list' WHEN 2 THEN 'view_item'
                WHEN 3 THEN CASE WHEN lvl < 45 THEN 'add_to_cart' ELSE 'view_item' END
                WHEN 4 THEN CASE WHEN lvl < 20 THEN 'begin_checkout' ELSE 'page_view' END
                ELSE CASE WHEN pos = 7 AND lvl < 10 THEN 'purchase' ELSE 'page_view' END END AS name,
           CASE WHEN sid %% 50 = 0 THEN 'bot' WHEN sid %% 25 < 13 THEN 'desktop'
                WHEN sid %% 25 < 23 THEN 'mobile' ELSE 'tablet' END AS device,
           CASE WHEN late = 0 AND %(day_no)s::int > 0
                THEN %(start)s::timestamptz + make_interval(days => (sid %% %(day_no)s::int)::int)
                ELSE %(day)s::timestamptz END
               + make_interval(secs => ((sid - %(base)s::int / 8) * 86000.0 / (%(n)s::int / 8 + 1)) + pos * 40) AS ts
      FROM ev
)
SELECT gen_random_uuid(), ts, name, ts + interval '2 seconds', 'shop-web',
       'a' || (hashint4(sid * 3) & 2147483647) %% 20000, 's' || sid,
       CASE WHEN sid %% 4 = 0 THEN 'cust-' || sid %% 5000 END, '/p/' || pid,
       (ARRAY[NULL, 'google.com', 'bing.com', NULL])[sid %% 4 + 1],
       (ARRAY[NULL, NULL, 'newsletter', 'google'])[sid %% 4 + 1],
       CASE WHEN name IN ('add_to_cart', 'begin_checkout', 'purchase') THEN 20 + pid END, 'USD',
       CASE WHEN name = 'purchase' THEN 'T-' || sid END,
       CASE WHEN name <> 'page_view' THEN jsonb_build_array(jsonb_build_object(
            'item_id', 'SKU-' || pid, 'item_category', 'cat-' || pid %% 8, 'price', 20 + pid,
            'quantity', 1)) END,
       device, device = 'bot', %(f)s::bigint
  FROM named
"""
LOAD_PURCHASES = """
INSERT INTO dw.purchases (transaction_id, event_id, event_ts, session_id, anonymous_id, user_id,
                          value, currency, items, device_category, file_id)
SELECT transaction_id, event_id, event_ts, session_id, anonymous_id, user_id, value, currency,
       items, device_category, file_id
  FROM dw.events WHERE file_id = %(f)s::bigint AND event_name = 'purchase' AND NOT is_bot
"""
LOAD_SESSIONS = """
INSERT INTO dw.sessions (session_id, anonymous_id, user_id, started_at, ended_at, referrer_domain,
                         utm_source, device_category, is_bot, event_count, page_views)
SELECT session_id, min(anonymous_id), max(user_id), min(event_ts), max(event_ts),
       max(referrer_domain), max(utm_source), min(device_category), bool_or(is_bot), count(*),
       count(*) FILTER (WHERE event_name = 'page_view')
  FROM dw.events WHERE file_id = %(f)s::bigint GROUP BY session_id
"""
DAY_SCAN = """
EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)
SELECT event_ts, event_name, session_id, anonymous_id, user_id, device_category, is_bot, items
  FROM dw.events WHERE event_ts >= %(lo)s AND event_ts < %(hi)s
"""
READS = """
SELECT coalesce(sum(seq_scan), 0)::bigint, coalesce(sum(seq_tup_read), 0)::bigint,
       coalesce(sum(idx_scan), 0)::bigint, coalesce(sum(idx_tup_fetch), 0)::bigint
  FROM pg_stat_xact_user_tables WHERE schemaname = 'dw' AND relname LIKE 'events_%%'
"""


def _ts(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def load_day(dsn: str, day_no: int, per_day: int) -> float:
    """Load day ``day_no`` of June (its events, purchases, sessions); return the seconds."""
    day = START + timedelta(days=day_no)
    params = {"n": per_day, "base": day_no * per_day, "day": _ts(day), "day_no": day_no,
              "start": _ts(START), "f": day_no + 1}
    with psycopg.connect(dsn, autocommit=True) as c:
        t0 = time.perf_counter()
        for sql in (LOAD_EVENTS, LOAD_PURCHASES, LOAD_SESSIONS):
            c.execute(sql, params)
        seconds = time.perf_counter() - t0
        c.execute("ANALYZE dw.events, dw.purchases, dw.sessions")
    return seconds


def _walk(node: dict[str, Any]):
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


def day_scan(conn: psycopg.Connection, day: date) -> dict[str, Any]:
    """What the refresh's day scan touches, from its EXPLAIN (ANALYZE, BUFFERS)."""
    plan = conn.execute(DAY_SCAN, {"lo": _ts(day), "hi": _ts(day + timedelta(days=1))}).fetchone()[0][0]["Plan"]
    nodes = list(_walk(plan))
    return {
        "plan": sorted({n["Node Type"] + (f" {n['Index Name']}" if "Index Name" in n else "") for n in nodes}),
        "rows": plan["Actual Rows"],
        "buffers": plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0),
        "rows_removed": sum(n.get("Rows Removed by Index Recheck", 0) + n.get("Rows Removed by Filter", 0)
                            for n in nodes),
    }


def refresh_once(dsn: str, day: date) -> tuple[float, dict[str, int]]:
    """One dw.refresh_day(day) committed; its seconds and what it read from dw.events."""
    with psycopg.connect(dsn) as c:
        t0 = time.perf_counter()
        c.execute("SELECT dw.refresh_day(%s)", (day,))
        seq_scans, seq_rows, idx_scans, idx_rows = c.execute(READS).fetchone()
        c.commit()
        seconds = time.perf_counter() - t0
    return seconds, {"seq_scans": seq_scans, "seq_rows": seq_rows, "idx_scans": idx_scans, "idx_rows": idx_rows}


def run(ctx) -> dict:
    per_day = 1_000 if ctx.quick else 20_000
    reps = 2 if ctx.quick else 3
    pg = ctx.pg
    dbs = {"previous": "bench_refresh_previous", "head": "bench_refresh_head"}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {"previous": previous_head("sql/dw", UPGRADE, Path(tmp) / "dw"), "head": MIGRATIONS_DIR}
        dsns = {}
        for which, name in dbs.items():
            pg.drop_database(name)
            dsns[which] = pg.create_database(name)
            migrate(dsns[which], folders[which])
    try:
        for dsn in dsns.values():
            with psycopg.connect(dsn, autocommit=True) as c:
                c.execute("SELECT dw.ensure_event_partitions(%s, %s)", (_ts(START), _ts(START)))
                c.execute("ALTER TABLE dw.events_2024_06 SET (autovacuum_enabled = false)")
        load_s = {which: 0.0 for which in dsns}
        checkpoints: dict[str, Any] = {}
        loaded = 0
        for days in CHECKPOINTS:
            for day_no in range(loaded, days):
                for which, dsn in dsns.items():
                    load_s[which] += load_day(dsn, day_no, per_day)
            loaded = days
            newest = START + timedelta(days=days - 1)
            ctx.log(f"refresh: {days} days loaded ({days * per_day:,} events a warehouse); refreshing {newest}")
            seconds: dict[str, list[float]] = {which: [] for which in dsns}
            reads: dict[str, dict[str, int]] = {}
            for _ in range(reps):
                for which, dsn in dsns.items():  # alternately, so both see the same load
                    s, reads[which] = refresh_once(dsn, newest)
                    seconds[which].append(s)
            point = {}
            for which, dsn in dsns.items():
                with psycopg.connect(dsn) as c:
                    scan = day_scan(c, newest)
                point[which] = {"refresh_s": round(statistics.median(seconds[which]), 3),
                                "dw_events_read": reads[which], "day_scan": scan}
            point["speedup"] = round(point["previous"]["refresh_s"] / max(point["head"]["refresh_s"], 1e-6), 2)
            checkpoints[f"{days}_days"] = point
            ctx.log(f"refresh: {days} days: previous {point['previous']['refresh_s']} s, "
                    f"head {point['head']['refresh_s']} s a day")
        first, last = (checkpoints[f"{d}_days"] for d in (CHECKPOINTS[0], CHECKPOINTS[-1]))
        return {
            "events_per_day": per_day,
            "days": list(CHECKPOINTS),
            "reps": reps,
            "checkpoints": checkpoints,
            "growth_30_over_3": {
                which: round(last[which]["refresh_s"] / max(first[which]["refresh_s"], 1e-6), 2) for which in dsns},
            "load_seconds_per_million_events": {
                which: round(s / (loaded * per_day) * 1e6, 1) for which, s in load_s.items()},
            "baseline": "previous: sql/dw before 0006 (BRIN + session_id index, device-overview trigger), "
                        "same server, same rows, refreshed alternately",
        }
    finally:
        for name in dbs.values():
            pg.drop_database(name)
