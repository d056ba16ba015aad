"""Dashboard query latency at ten million events (issue 8; target p95 <= 50 ms).

Generating 10M events through the full ETL would take most of an hour on two cores, so the
facts are made server-side with ``generate_series`` (sessions walking a shop funnel, devices,
channels, items, purchases, a manifest row per 25 events, a few rejects), then the rollups
are built exactly as the ETL builds them: ``dw.refresh_day(d)`` for every day (the per-device
rollup included). Loading and refresh times are reported.

Every dashboard query (:data:`shiny_app.queries.QUERIES`) is then timed as the dashboards
run it (a ``dw_reader`` login, read-only session), with two filter sets: the whole range
with no filter (the app's default) and the last 7 days for one device and one category.
Its baseline is the same figure computed straight from ``dw.events`` (what one would write
without rollups), timed in the same run; the report gives both and their ratio.
"""

from __future__ import annotations

import statistics
import time
from datetime import date, timedelta
from typing import Any

import psycopg

from clickstream.warehouse import migrate
from shiny_app import queries as Q

TARGET_P95_MS = 50.0
START = date(2024, 6, 1)
CATEGORIES = ("Laptops", "Monitors", "Keyboards", "Mice", "Headsets", "Docking Stations",
              "Storage", "Networking")

# One statement per table; %(n)s events, %(days)s days from %(start)s, 8 events a session.
LOAD_SQL = {
    "loaded_files": """
INSERT INTO dw.loaded_files (file_id, key, kind, dt, etag, size_bytes, status, lines,
                             events_loaded, duplicates, rejected, loaded_at)
OVERRIDING SYSTEM VALUE
SELECT f, format('events/v1/dt=%%s/hr=00/%%s.jsonl.gz',
                 %(start)s::date + (f * %(days)s / (%(n)s / 25 + 1)), f),
       'events', %(start)s::date + (f * %(days)s / (%(n)s / 25 + 1)), md5(f::text), 4096,
       'loaded', 25, 25, (f %% 100 = 0)::int, (f %% 300 = 0)::int, now()
  FROM generate_series(1, %(n)s / 25 + 1) AS f
""",
    "events": """
INSERT INTO dw.events (event_id, event_ts, event_name, received_at, app_id, anonymous_id,
                       session_id, user_id, page_path, page_referrer, referrer_domain,
                       utm_source, utm_medium, utm_campaign, value, currency, transaction_id,
                       items, device_category, is_bot, file_id)
WITH ev AS (
    SELECT i, i / 8 AS sid, i %% 8 AS pos,
           (hashint4(i / 8) & 2147483647) %% 100 AS lvl,
           ((i / 8) %% 8) * 12 + (hashint4(i) & 2147483647) %% 12 AS pid
      FROM generate_series(0, %(n)s - 1) AS i
), named AS (
    SELECT ev.*,
           CASE pos WHEN 0 THEN 'page_view' WHEN 1 THEN 'view_item_list' WHEN 2 THEN 'view_item'
                WHEN 3 THEN CASE WHEN lvl < 45 THEN 'add_to_cart' ELSE 'view_item' END
                WHEN 4 THEN CASE WHEN lvl < 20 THEN 'begin_checkout' ELSE 'page_view' END
                WHEN 5 THEN CASE WHEN lvl < 15 THEN 'add_shipping_info' ELSE 'page_view' END
                WHEN 6 THEN CASE WHEN lvl < 15 THEN 'add_payment_info' ELSE 'view_item' END
                ELSE CASE WHEN lvl < 10 THEN 'purchase' ELSE 'page_view' END END AS name,
           CASE WHEN sid %% 50 = 0 THEN 'bot' WHEN sid %% 25 < 13 THEN 'desktop'
                WHEN sid %% 25 < 23 THEN 'mobile' ELSE 'tablet' END AS device,
           (ARRAY[NULL, 'google.com', 'google.com', 'bing.com', 'facebook.com', 'reddit.com',
                  NULL, 'techradar.com', NULL, 'google.com'])[sid %% 10 + 1] AS ref,
           (ARRAY[NULL, NULL, NULL, NULL, 'facebook', NULL, 'newsletter', NULL, NULL, 'google'])
               [sid %% 10 + 1] AS src,
           %(start)s::timestamptz
               + make_interval(secs => sid * 86400.0 * %(days)s / (%(n)s / 8 + 1) + pos * 40) AS ts
      FROM ev
)
SELECT gen_random_uuid(), ts, name, ts + interval '2 seconds', 'shop-web',
       'a' || (hashint4(sid * 3) & 2147483647) %% greatest(%(n)s / 11, 1), 's' || sid,
       CASE WHEN sid %% 4 = 0 THEN 'cust-' || sid %% 50000 END,
       '/p/' || pid,
       CASE WHEN pos = 0 AND ref IS NOT NULL THEN 'https://www.' || ref || '/' END,
       CASE WHEN pos = 0 THEN ref END,
       CASE WHEN pos = 0 THEN src END,
       CASE WHEN pos = 0 AND src IS NOT NULL THEN
            CASE src WHEN 'google' THEN 'cpc' WHEN 'facebook' THEN 'social' ELSE 'email' END END,
       CASE WHEN pos = 0 AND src IS NOT NULL THEN src || '_campaign' END,
       CASE WHEN name IN ('add_to_cart', 'begin_checkout', 'add_shipping_info',
                          'add_payment_info', 'purchase') THEN 20 + (pid * 37) %% 1500 END,
       'USD',
       CASE WHEN name = 'purchase' THEN 'T-' || sid END,
       CASE WHEN name NOT IN ('page_view') THEN jsonb_build_array(jsonb_build_object(
            'item_id', 'SKU-' || (10001 + pid), 'item_name', 'Product ' || pid,
            'item_category', (%(categories)s::text[])[pid / 12 + 1],
            'price', 20 + (pid * 37) %% 1500, 'quantity', 1)) END,
       device, device = 'bot', i / 25 + 1
  FROM named
""",
    "purchases": """
INSERT INTO dw.purchases (transaction_id, event_id, event_ts, session_id, anonymous_id, user_id,
                          value, currency, items, device_category, file_id)
SELECT transaction_id, event_id, event_ts, session_id, anonymous_id, user_id, value, currency,
       items, device_category, file_id
  FROM dw.events WHERE event_name = 'purchase' AND NOT is_bot
""",
    "sessions": """
INSERT INTO dw.sessions (session_id, anonymous_id, user_id, started_at, ended_at,
                         referrer_domain, utm_source, utm_medium, utm_campaign,
                         device_category, is_bot, event_count, page_views)
SELECT session_id, min(anonymous_id), max(user_id), min(event_ts), max(event_ts),
       max(referrer_domain), max(utm_source), max(utm_medium), max(utm_campaign),
       min(device_category), bool_or(is_bot), count(*),
       count(*) FILTER (WHERE event_name = 'page_view')
  FROM dw.events GROUP BY session_id
""",
    "products": """
INSERT INTO dw.products (item_id, item_name, item_brand, item_category, price, first_seen, last_seen)
SELECT 'SKU-' || (10001 + pid), 'Product ' || pid, 'Brand', (%(categories)s::text[])[pid / 12 + 1],
       20 + (pid * 37) %% 1500, %(start)s::timestamptz, %(start)s::timestamptz
  FROM generate_series(0, 95) AS pid
""",
    "rejected_events": """
INSERT INTO dw.rejected_events (source_key, line_no, stage, reason, payload)
SELECT 'events/v1/rejected/x' || r, 1, CASE WHEN r %% 2 = 0 THEN 'ingest' ELSE 'etl' END,
       (ARRAY['invalid JSON: bad', 'event_name: must be one of', 'session_id: required'])[r %% 3 + 1],
       '{}'::jsonb
  FROM generate_series(1, greatest(%(n)s / 300, 1)) AS r
""",
}

# The same figures straight from the facts (the baseline), keyed by dashboard query name.
_DEV = "(%(device)s::text IS NULL OR device_category = %(device)s::text)"
_CAT = ("(%(category)s::text IS NULL OR items @> jsonb_build_array("
        "jsonb_build_object('item_category', %(category)s::text)))")
_TS = ("event_ts >= (%(start)s::date)::timestamp AT TIME ZONE 'UTC' "
       "AND event_ts < (%(end)s::date + 1)::timestamp AT TIME ZONE 'UTC'")
_STEPS = ", ".join(f"count(DISTINCT session_id) FILTER (WHERE event_name = '{s}') AS {s}"
                   for s in Q.FUNNEL_STEPS)
NAIVE: dict[str, str] = {
    "date_bounds": "SELECT min(event_ts)::date, max(event_ts)::date FROM dw.events",
    "devices": "SELECT DISTINCT device_category FROM dw.events WHERE NOT is_bot ORDER BY 1",
    "categories": """SELECT DISTINCT i.item_category FROM dw.events e,
                     jsonb_to_recordset(e.items) AS i(item_category text) ORDER BY 1""",
    "overview": f"""
SELECT count(DISTINCT session_id) AS sessions, count(DISTINCT anonymous_id) AS users,
       count(*) FILTER (WHERE event_name = 'page_view') AS page_views,
       count(DISTINCT session_id) FILTER (WHERE event_name = 'purchase')::float8
           / nullif(count(DISTINCT session_id), 0) AS conversion_rate,
       (SELECT sum(value) FROM dw.events WHERE {_TS} AND {_DEV} AND event_name = 'purchase'
           AND NOT is_bot) AS revenue
  FROM dw.events
 WHERE ((event_ts >= (%(prev_start)s::date)::timestamp AT TIME ZONE 'UTC'
         AND event_ts < (%(end)s::date + 1)::timestamp AT TIME ZONE 'UTC'))
   AND NOT is_bot AND {_DEV}
 GROUP BY event_ts >= (%(start)s::date)::timestamp AT TIME ZONE 'UTC'""",
    "funnel": f"SELECT {_STEPS} FROM dw.events WHERE {_TS} AND NOT is_bot AND {_DEV} AND {_CAT}",
    "funnel_by_device": f"""SELECT device_category, {_STEPS} FROM dw.events
        WHERE {_TS} AND NOT is_bot AND {_DEV} AND {_CAT} GROUP BY 1""",
    "funnel_by_category": f"""SELECT i.item_category, {_STEPS.replace('session_id', 'e.session_id')}
        FROM dw.events e, jsonb_to_recordset(e.items) AS i(item_category text)
        WHERE {_TS} AND NOT is_bot AND {_DEV}
          AND (%(category)s::text IS NULL OR i.item_category = %(category)s::text) GROUP BY 1""",
    "products": f"""SELECT i.item_id, count(*) FILTER (WHERE e.event_name = 'view_item') AS views,
        count(*) FILTER (WHERE e.event_name = 'add_to_cart') AS carts,
        count(*) FILTER (WHERE e.event_name = 'purchase') AS purchases,
        sum(i.price * i.quantity) FILTER (WHERE e.event_name = 'purchase') AS revenue
        FROM dw.events e, jsonb_to_recordset(e.items) AS i(item_id text, item_category text,
             price numeric, quantity int)
        WHERE {_TS} AND NOT is_bot
          AND (%(category)s::text IS NULL OR i.item_category = %(category)s::text)
        GROUP BY 1 ORDER BY revenue DESC NULLS LAST LIMIT %(limit)s""",
    "top_products": f"""WITH a AS (SELECT i.item_id,
        count(*) FILTER (WHERE e.event_name = 'view_item') AS views,
        sum(i.price * i.quantity) FILTER (WHERE e.event_name = 'purchase') AS revenue
        FROM dw.events e, jsonb_to_recordset(e.items) AS i(item_id text, item_category text,
             price numeric, quantity int)
        WHERE {_TS} AND NOT is_bot
          AND (%(category)s::text IS NULL OR i.item_category = %(category)s::text) GROUP BY 1)
        (SELECT item_id FROM a ORDER BY views DESC LIMIT 1)
        UNION ALL (SELECT item_id FROM a ORDER BY revenue DESC NULLS LAST LIMIT 1)""",
    "trends_daily": f"""SELECT (event_ts AT TIME ZONE 'UTC')::date, count(*),
        count(DISTINCT session_id), sum(value) FILTER (WHERE event_name = 'purchase')
        FROM dw.events WHERE {_TS} AND NOT is_bot AND {_DEV} GROUP BY 1 ORDER BY 1""",
    "trends_hourly": f"""SELECT date_trunc('hour', event_ts), count(*), count(DISTINCT session_id)
        FROM dw.events WHERE {_TS} AND NOT is_bot GROUP BY 1 ORDER BY 1""",
    "hour_of_week": f"""SELECT extract(isodow FROM event_ts AT TIME ZONE 'UTC'),
        extract(hour FROM event_ts AT TIME ZONE 'UTC'), count(*)
        FROM dw.events WHERE {_TS} AND NOT is_bot GROUP BY 1, 2""",
    "acquisition_referrer": f"""
WITH first AS (SELECT DISTINCT ON (session_id) session_id, referrer_domain
                 FROM dw.events WHERE {_TS} AND NOT is_bot AND {_DEV}
                ORDER BY session_id, event_ts),
     conv AS (SELECT DISTINCT session_id FROM dw.events WHERE {_TS} AND event_name = 'purchase')
SELECT coalesce(referrer_domain, '(direct)'), count(*), count(conv.session_id)
  FROM first LEFT JOIN conv USING (session_id) GROUP BY 1""",
    "acquisition_utm": f"""
WITH first AS (SELECT DISTINCT ON (session_id) session_id, utm_source, utm_medium, utm_campaign
                 FROM dw.events WHERE {_TS} AND NOT is_bot AND {_DEV}
                ORDER BY session_id, event_ts),
     conv AS (SELECT DISTINCT session_id FROM dw.events WHERE {_TS} AND event_name = 'purchase')
SELECT utm_source, utm_medium, utm_campaign, count(*), count(conv.session_id)
  FROM first LEFT JOIN conv USING (session_id) GROUP BY 1, 2, 3""",
    "health": """SELECT (SELECT max(event_ts) FROM dw.events), (SELECT count(*) FROM dw.events),
        (SELECT max(loaded_at) FROM dw.loaded_files), (SELECT count(*) FROM dw.rejected_events)""",
    "loads_daily": """SELECT (received_at AT TIME ZONE 'UTC')::date, count(*) FROM dw.events
        GROUP BY 1 ORDER BY 1 DESC LIMIT 90""",
    "rejects_by_reason": """SELECT stage, split_part(reason, ':', 1), count(*)
        FROM dw.rejected_events GROUP BY 1, 2""",
    "failed_files": "SELECT key FROM dw.loaded_files WHERE status = 'failed' LIMIT 100",
}


def _pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def _time(conn: psycopg.Connection, sql: str, params: dict[str, Any], reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        conn.execute(sql, params).fetchall()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def load(dsn: str, n: int, days: int, log) -> dict[str, float]:
    """Build the warehouse at scale; return seconds per step."""
    migrate(dsn)
    params = {"n": n, "days": days, "start": START, "categories": list(CATEGORIES)}
    timings: dict[str, float] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SELECT dw.ensure_event_partitions(%s::timestamptz, %s::timestamptz)",
                     (START, START + timedelta(days=days + 1)))
        for table, sql in LOAD_SQL.items():
            t0 = time.perf_counter()
            conn.execute(sql, params)
            timings[f"load_{table}_s"] = round(time.perf_counter() - t0, 2)
            log(f"dashboards: loaded dw.{table} in {timings[f'load_{table}_s']} s")
        t0 = time.perf_counter()
        conn.execute("ANALYZE")
        timings["analyze_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        for i in range(days + 1):
            conn.execute("SELECT dw.refresh_day(%s)", (START + timedelta(days=i),))
        timings["refresh_rollups_s"] = round(time.perf_counter() - t0, 2)
        timings["refresh_per_day_s"] = round(timings["refresh_rollups_s"] / (days + 1), 2)
        log(f"dashboards: rollups refreshed in {timings['refresh_rollups_s']} s")
        conn.execute("ANALYZE")
    return timings


def run(ctx) -> dict:
    n = 200_000 if ctx.quick else 10_000_000
    days = 30
    reps, naive_reps = (20, 3) if ctx.quick else (50, 3)
    pg = ctx.pg
    db = "bench_dashboards"
    pg.drop_database(db)
    dsn = pg.create_database(db)
    role = "bench_dashboard_reader"
    try:
        ctx.log(f"dashboards: generating {n:,} events over {days} days")
        t0 = time.perf_counter()
        timings = load(dsn, n, days, ctx.log)
        load_s = time.perf_counter() - t0
        with psycopg.connect(pg.dsn(), autocommit=True) as admin:
            if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                admin.execute(f"CREATE ROLE {role} LOGIN IN ROLE dw_reader")
        with psycopg.connect(dsn) as c:
            events = c.execute("SELECT count(*) FROM dw.events").fetchone()[0]
            size = c.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
        end = START + timedelta(days=days - 1)
        filter_sets = {
            "all_days_no_filter": Q.Filters(START, end),
            "last_7_days_mobile_laptops": Q.Filters(end - timedelta(days=6), end, "mobile", "Laptops"),
        }
        results: dict[str, Any] = {}
        worst = 0.0
        with Q.connect(pg.dsn(db, user=role)) as reader, psycopg.connect(dsn, autocommit=True) as owner:
            owner.execute("SET statement_timeout = '300s'")
            for fname, f in filter_sets.items():
                params = f.params()
                for name, q in Q.QUERIES.items():
                    if not q.uses and fname != "all_days_no_filter":
                        continue  # unfiltered queries answer the same for every filter set
                    q.run(reader, f)  # warm up (and prove it runs as dw_reader)
                    ms = _time(reader, q.sql, params, reps)
                    naive = _time(owner, NAIVE[name], params, naive_reps)
                    p95 = _pct(ms, 0.95)
                    worst = max(worst, p95)
                    results[f"{fname}.{name}"] = {
                        "p50_ms": round(statistics.median(ms), 2), "p95_ms": round(p95, 2),
                        "baseline_naive_p50_ms": round(statistics.median(naive), 1),
                        "speedup_p50": round(statistics.median(naive) / max(statistics.median(ms), 1e-3), 1),
                        "target_p95_ms": TARGET_P95_MS, "meets_target": p95 <= TARGET_P95_MS,
                        "reps": reps, "baseline_reps": naive_reps,
                    }
                    ctx.log(f"dashboards: {fname}.{name} p95 {p95:.1f} ms "
                            f"(naive p50 {statistics.median(naive):.0f} ms)")
        return {
            "events": events,
            "days": days,
            "database_size": size,
            "load_total_s": round(load_s, 1),
            "load_steps_s": timings,
            "load_method": "server-side generate_series into dw tables, then dw.refresh_day per day",
            "queries": results,
            "worst_p95_ms": round(worst, 2),
            "target_p95_ms": TARGET_P95_MS,
            "all_meet_target": all(r["meets_target"] for r in results.values()),
        }
    finally:
        with psycopg.connect(pg.dsn(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            admin.execute(f"DROP ROLE IF EXISTS {role}")
