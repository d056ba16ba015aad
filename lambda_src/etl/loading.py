"""Load parsed objects into the warehouse, all or nothing per transaction.

One transaction carries a batch of whole objects (up to ``batch_max_events`` events): the
manifest rows, the events, purchases, dimensions, rejects and dirty-day marks of those
objects commit together or not at all. Batching amortises the fixed cost of a transaction
over many small objects (ingest writes one object per HTTP request, often a few KB), which is
what makes 100k events/s possible; exactly-once is unaffected because a crash still leaves
no partial object and no manifest row.

Steps inside the transaction (the SQL below, in order):

1. upsert the manifest rows (status ``loaded``) and get their ``file_id``;
2. create the monthly partitions the batch needs;
3. COPY the rows into a temporary staging table (no WAL, emptied at commit);
4. insert the ids into ``dw.event_ids`` with ``ON CONFLICT DO NOTHING`` and delete from the
   stage every row whose id was already known (replays, duplicate deliveries);
5. ``INSERT INTO dw.events SELECT * FROM stage``; purchases by transaction_id; products and
   sessions upserted; rejects inserted (unique per source line); days marked dirty;
6. manifest counts updated; commit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import psycopg

from etl.parsing import EVENT_COLUMNS, REJECT_COLUMNS, ParsedObject, merge_products

Hook = Callable[[str], None]

SETUP_SQL = """
CREATE TEMP TABLE IF NOT EXISTS etl_stage (LIKE dw.events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS etl_rejects (
    source_key text, line_no integer, item_index integer, stage text, reason text,
    payload jsonb, raw text, app_id text, request_id text, received_at timestamptz
) ON COMMIT DELETE ROWS;
"""

MANIFEST_SQL = """
INSERT INTO dw.loaded_files AS f (key, kind, dt, etag, size_bytes, status, lines)
SELECT * FROM unnest(%s::text[], %s::text[], %s::date[], %s::text[], %s::bigint[],
                     %s::text[], %s::integer[])
ON CONFLICT (key) DO UPDATE SET
    etag = EXCLUDED.etag, size_bytes = EXCLUDED.size_bytes, lines = EXCLUDED.lines,
    replays = f.replays + (f.status = 'loaded')::int,
    attempts = CASE WHEN f.status = 'loaded' THEN f.attempts ELSE f.attempts + 1 END,
    status = 'loaded', error = NULL, loaded_at = now()
RETURNING key, file_id
"""

DEDUP_SQL = """
WITH ins AS (
    INSERT INTO dw.event_ids (event_id, event_ts)
    SELECT event_id, event_ts FROM etl_stage
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
)
DELETE FROM etl_stage s WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.event_id = s.event_id)
"""

EVENTS_SQL = "INSERT INTO dw.events SELECT * FROM etl_stage"

PURCHASES_SQL = """
INSERT INTO dw.purchases (transaction_id, event_id, event_ts, session_id, anonymous_id, user_id,
                          value, currency, items, device_category, file_id)
SELECT DISTINCT ON (tid) tid, event_id, event_ts, session_id, anonymous_id, user_id, value,
       currency, items, device_category, file_id
  FROM (SELECT coalesce(transaction_id, 'event:' || event_id::text) AS tid, *
          FROM etl_stage WHERE event_name = 'purchase' AND NOT is_bot) p
 ORDER BY tid, event_ts, event_id
ON CONFLICT (transaction_id) DO NOTHING
"""

# Products are reduced in Python while parsing (a few hundred rows per batch instead of one
# jsonb expansion per item sighting), then upserted: latest attributes by event time win.
PRODUCTS_SQL = """
INSERT INTO dw.products AS p (item_id, first_seen, last_seen, item_name, item_brand, item_category, price)
SELECT * FROM unnest(%s::text[], %s::timestamptz[], %s::timestamptz[], %s::text[], %s::text[],
                     %s::text[], %s::numeric[])
ON CONFLICT (item_id) DO UPDATE SET
    item_name = CASE WHEN EXCLUDED.last_seen >= p.last_seen
                     THEN coalesce(EXCLUDED.item_name, p.item_name) ELSE p.item_name END,
    item_brand = CASE WHEN EXCLUDED.last_seen >= p.last_seen
                      THEN coalesce(EXCLUDED.item_brand, p.item_brand) ELSE p.item_brand END,
    item_category = CASE WHEN EXCLUDED.last_seen >= p.last_seen
                         THEN coalesce(EXCLUDED.item_category, p.item_category) ELSE p.item_category END,
    price = CASE WHEN EXCLUDED.last_seen >= p.last_seen
                 THEN coalesce(EXCLUDED.price, p.price) ELSE p.price END,
    first_seen = least(p.first_seen, EXCLUDED.first_seen),
    last_seen = greatest(p.last_seen, EXCLUDED.last_seen)
"""

# Existing sessions touched by this batch: their start day's acquisition rollup changes
# (a later purchase adds revenue there; an earlier late event moves the start).
SESSION_DAYS_SQL = """
INSERT INTO dw.dirty_days (day)
SELECT DISTINCT (s.started_at AT TIME ZONE 'UTC')::date
  FROM dw.sessions s JOIN (SELECT DISTINCT session_id FROM etl_stage) n USING (session_id)
ON CONFLICT (day) DO NOTHING
"""

_FIRST = ("landing_url", "landing_path", "referrer", "referrer_domain", "utm_source",
          "utm_medium", "utm_campaign", "utm_term", "utm_content", "device_category", "is_bot",
          "user_agent", "anonymous_id")
SESSIONS_SQL = f"""
WITH agg AS (
    SELECT session_id, min(event_ts) AS started_at, max(event_ts) AS ended_at,
           max(user_id) AS user_id, count(*) AS event_count,
           count(*) FILTER (WHERE event_name = 'page_view') AS page_views
      FROM etl_stage GROUP BY session_id
), firsts AS (
    SELECT DISTINCT ON (session_id) session_id, page_url AS landing_url,
           page_path AS landing_path, page_referrer AS referrer, referrer_domain, utm_source,
           utm_medium, utm_campaign, utm_term, utm_content, device_category, is_bot,
           user_agent, anonymous_id
      FROM etl_stage ORDER BY session_id, event_ts, event_id
)
INSERT INTO dw.sessions AS s (session_id, user_id, started_at, ended_at, event_count,
                              page_views, {", ".join(_FIRST)})
SELECT a.session_id, a.user_id, a.started_at, a.ended_at, a.event_count, a.page_views,
       {", ".join("f." + c for c in _FIRST)}
  FROM agg a JOIN firsts f USING (session_id)
ON CONFLICT (session_id) DO UPDATE SET
    {", ".join(f"{c} = CASE WHEN EXCLUDED.started_at < s.started_at THEN EXCLUDED.{c} ELSE s.{c} END"
               for c in _FIRST)},
    started_at = least(s.started_at, EXCLUDED.started_at),
    ended_at = greatest(s.ended_at, EXCLUDED.ended_at),
    user_id = coalesce(EXCLUDED.user_id, s.user_id),
    event_count = s.event_count + EXCLUDED.event_count,
    page_views = s.page_views + EXCLUDED.page_views
"""

REJECTS_SQL = f"""
INSERT INTO dw.rejected_events ({", ".join(REJECT_COLUMNS)})
SELECT {", ".join(REJECT_COLUMNS)} FROM etl_rejects
ON CONFLICT (source_key, line_no) DO NOTHING
RETURNING source_key
"""

DIRTY_SQL = """
INSERT INTO dw.dirty_days (day) SELECT unnest(%s::date[]) ON CONFLICT (day) DO NOTHING
"""

COUNTS_SQL = """
UPDATE dw.loaded_files f
   SET events_loaded = f.events_loaded + v.loaded,
       rejected = f.rejected + v.rejected,
       duplicates = CASE WHEN f.replays > 0 AND v.replay THEN f.duplicates ELSE v.dups END
  FROM unnest(%s::text[], %s::integer[], %s::integer[], %s::integer[], %s::boolean[])
       AS v(key, loaded, rejected, dups, replay)
 WHERE f.key = v.key
"""

FAILED_SQL = """
INSERT INTO dw.loaded_files AS f (key, kind, dt, etag, size_bytes, status, error)
VALUES (%s, %s, %s, %s, %s, 'failed', %s)
ON CONFLICT (key) DO UPDATE SET
    attempts = f.attempts + 1, error = EXCLUDED.error, etag = EXCLUDED.etag,
    loaded_at = now()
WHERE f.status = 'failed'
"""


@dataclass
class FileResult:
    """What one object contributed (new rows only; replays report 0 loaded)."""

    key: str
    lines: int
    events_loaded: int
    duplicates: int
    rejected: int


def prepare(conn: psycopg.Connection) -> None:
    """Create this session's temporary staging tables (once per connection)."""
    conn.execute(SETUP_SQL)
    conn.commit()


def load_batch(
    conn: psycopg.Connection, objs: list[ParsedObject], *, replay_keys: frozenset[str] = frozenset(),
    hook: Hook | None = None,
) -> list[FileResult]:
    """Load whole objects in one transaction; on any error nothing of them remains."""
    hook = hook or (lambda _stage: None)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(MANIFEST_SQL, (
            [o.key for o in objs], [o.kind for o in objs], [o.dt for o in objs],
            [o.etag for o in objs], [o.size for o in objs], ["loaded"] * len(objs),
            [o.lines for o in objs],
        ))
        file_ids = dict(cur.fetchall())
        lows = [o.min_ts for o in objs if o.min_ts is not None]
        if lows:
            cur.execute("SELECT dw.ensure_event_partitions(%s, %s)",
                        (min(lows), max(o.max_ts for o in objs if o.max_ts is not None)))

        seen: set[str] = set()
        staged: Counter[str] = Counter()
        dups: Counter[str] = Counter()
        days: set[date] = set()
        cols = ", ".join((*EVENT_COLUMNS, "file_id"))
        with cur.copy(f"COPY etl_stage ({cols}) FROM STDIN") as cp:
            for o in objs:
                fid = file_ids[o.key]
                days |= o.days
                n_before = len(seen)
                for row in o.rows:
                    if row[0] in seen:
                        continue
                    seen.add(row[0])
                    cp.write_row((*row, fid))
                staged[o.key] = len(seen) - n_before
                dups[o.key] = o.duplicates_in_object + len(o.rows) - staged[o.key]
        with cur.copy(f"COPY etl_rejects ({', '.join(REJECT_COLUMNS)}) FROM STDIN") as cp:
            for o in objs:
                for rej in o.rejects:
                    cp.write_row(rej)
        hook("after_copy")

        cur.execute(DEDUP_SQL)
        cur.execute(EVENTS_SQL)
        cur.execute(PURCHASES_SQL)
        products = merge_products(objs)
        if products:
            ids = sorted(products)
            cols = list(zip(*(products[i] for i in ids), strict=True))
            cur.execute(PRODUCTS_SQL, (ids, *(list(c) for c in cols)))
        cur.execute(SESSION_DAYS_SQL)
        cur.execute(SESSIONS_SQL)
        cur.execute(REJECTS_SQL)
        rejected = Counter(r[0] for r in cur.fetchall())
        cur.execute("SELECT file_id, count(*) FROM etl_stage GROUP BY file_id")
        loaded_by_id = dict(cur.fetchall())
        if days:
            cur.execute(DIRTY_SQL, (sorted(days),))

        results = []
        for o in objs:
            loaded = loaded_by_id.get(file_ids[o.key], 0)
            results.append(FileResult(
                key=o.key, lines=o.lines, events_loaded=loaded,
                duplicates=dups[o.key] + staged[o.key] - loaded, rejected=rejected[o.key],
            ))
        cur.execute(COUNTS_SQL, (
            [r.key for r in results], [r.events_loaded for r in results],
            [r.rejected for r in results], [r.duplicates for r in results],
            [r.key in replay_keys for r in results],
        ))
        hook("before_commit")
    return results


def record_failure(conn: psycopg.Connection, obj, error: str) -> None:
    """Mark an unreadable object failed (never downgrades an object already loaded)."""
    with conn.transaction():
        conn.execute(FAILED_SQL, (obj.key, obj.kind, obj.dt, obj.etag, obj.size, error[:2000]))


def refresh_dirty_days(conn: psycopg.Connection, *, time_left: Callable[[], float] | None = None,
                       hook: Hook | None = None) -> list[date]:
    """Recompute the rollups of every dirty day, one transaction per day, oldest first."""
    done: list[date] = []
    days = [r[0] for r in conn.execute("SELECT day FROM dw.dirty_days ORDER BY day").fetchall()]
    conn.commit()
    for day in days:
        if time_left is not None and time_left() <= 0:
            break
        with conn.transaction():
            conn.execute("SELECT dw.refresh_day(%s)", (day,))
            conn.execute("DELETE FROM dw.dirty_days WHERE day = %s", (day,))
            if hook:
                hook("refresh_day")
        done.append(day)
    return done
