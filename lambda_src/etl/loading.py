"""Load parsed objects into the warehouse, all or nothing per transaction.

One transaction carries a batch of whole objects (up to ``batch_max_events`` events): the
manifest rows, the events, purchases, dimensions, rejects and dirty-day marks of those
objects commit together or not at all. Batching amortises the fixed cost of a transaction
over many small objects (ingest writes one object per HTTP request, often a few KB);
exactly-once is unaffected because a crash still leaves no partial object and no manifest
row.

The events go straight into ``dw.events`` with one ``COPY`` of rows the parser already
wrote in COPY text format (no staging copy of the fact rows, no per-row Python here): the
same work as a plain bulk load of those rows, which is the ceiling the benchmark compares
with. That needs the duplicates removed *before* the COPY, in this order:

1. upsert the manifest rows (status ``loaded``) and get their ``file_id``;
2. create the monthly partitions the batch needs;
3. ask ``dw.event_ids`` which of the batch's ids it already has (one indexed ``= ANY``);
4. objects holding such ids, or ids already seen earlier in the batch, are refolded
   without them (:func:`etl.refold.refold`: their rows dropped from the parse's COPY text
   and the partial aggregates they fed folded again, with no second parse; with large
   objects nearly every object holds a redelivered duplicate), so every derived figure
   (sessions, purchases, days, counts) counts new events only;
5. ``COPY dw.event_ids`` then ``COPY dw.events``. dw.event_ids keeps its primary key: if
   anything else inserted one of these ids since step 3 (impossible while the ETL holds
   its lock lease, which each batch re-proves in its own transaction), the COPY fails and
   the whole batch rolls back, so a duplicate can never reach dw.events;
6. purchases (de-duplicated by transaction_id) and sessions (from per-object partial
   aggregates) merged from small temporary tables; products upserted; rejects inserted
   (unique per source line); days marked dirty; manifest counts updated; commit.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol

import psycopg

from etl.fields import EVENT_COLUMNS, PURCHASE_COLUMNS, REJECT_COLUMNS, SESSION_COLUMNS
from etl.parsing import ParsedObject, merge_products
from etl.refold import RefoldError, refold

Hook = Callable[[str], None]

SETUP_SQL = """
CREATE TEMP TABLE IF NOT EXISTS etl_rejects (
    source_key text, line_no integer, item_index integer, stage text, reason text,
    payload jsonb, raw text, app_id text, request_id text, received_at timestamptz,
    events integer
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS etl_purchases (
    transaction_id text, event_id uuid, event_ts timestamptz, session_id text,
    anonymous_id text, user_id text, value numeric(18, 4), currency text, items jsonb,
    device_category text, file_id bigint
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS etl_sessions (
    session_id text, user_id text, started_at timestamptz, first_event_id uuid,
    ended_at timestamptz, event_count integer, page_views integer, landing_url text,
    landing_path text, referrer text, referrer_domain text, utm_source text, utm_medium text,
    utm_campaign text, utm_term text, utm_content text, device_category text, is_bot boolean,
    user_agent text, anonymous_id text
) ON COMMIT DELETE ROWS;
-- Asynchronous commit for this session only. If the warehouse host crashes within a
-- fraction of a second after a commit, that commit can be lost -- but it is lost whole
-- (WAL keeps each transaction atomic), and a batch's manifest rows are in the same
-- transaction as its rows, so the next run finds those objects missing from
-- dw.loaded_files and loads them again. The same holds for a rollup refresh (its day stays
-- in dw.dirty_days) and the watermark (an older one only relists a day). Nothing partial
-- or duplicated can result; the run's returned summary may overstate what survived.
SET synchronous_commit = off;
"""

# ``error`` of a loaded object notes a stream that broke part-way (its remainder is a reject).
MANIFEST_SQL = """
INSERT INTO dw.loaded_files AS f (key, kind, dt, etag, size_bytes, status, lines, received,
                                  received_source, error)
SELECT * FROM unnest(%s::text[], %s::text[], %s::date[], %s::text[], %s::bigint[],
                     %s::text[], %s::integer[], %s::integer[], %s::text[], %s::text[])
ON CONFLICT (key) DO UPDATE SET
    etag = EXCLUDED.etag, size_bytes = EXCLUDED.size_bytes, lines = EXCLUDED.lines,
    received = EXCLUDED.received, received_source = EXCLUDED.received_source,
    replays = f.replays + (f.status = 'loaded')::int,
    attempts = CASE WHEN f.status = 'loaded' THEN f.attempts ELSE f.attempts + 1 END,
    status = 'loaded', failure = NULL, next_attempt_at = NULL, error = EXCLUDED.error,
    loaded_at = now()
RETURNING key, file_id
"""

KNOWN_IDS_SQL = "SELECT event_id::text FROM dw.event_ids WHERE event_id = ANY(%s::uuid[])"

PURCHASES_SQL = """
INSERT INTO dw.purchases (transaction_id, event_id, event_ts, session_id, anonymous_id, user_id,
                          value, currency, items, device_category, file_id)
SELECT DISTINCT ON (tid) tid, event_id, event_ts, session_id, anonymous_id, user_id, value,
       currency, items, device_category, file_id
  FROM (SELECT coalesce(transaction_id, 'event:' || event_id::text) AS tid, *
          FROM etl_purchases) p
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
  FROM dw.sessions s JOIN (SELECT DISTINCT session_id FROM etl_sessions) n USING (session_id)
ON CONFLICT (day) DO NOTHING
"""

_FIRST = ("landing_url", "landing_path", "referrer", "referrer_domain", "utm_source",
          "utm_medium", "utm_campaign", "utm_term", "utm_content", "device_category", "is_bot",
          "user_agent", "anonymous_id")
SESSIONS_SQL = f"""
WITH agg AS (
    SELECT session_id, min(started_at) AS started_at, max(ended_at) AS ended_at,
           max(user_id) AS user_id, sum(event_count) AS event_count,
           sum(page_views) AS page_views
      FROM etl_sessions GROUP BY session_id
), firsts AS (
    SELECT DISTINCT ON (session_id) session_id, {", ".join(_FIRST)}
      FROM etl_sessions ORDER BY session_id, started_at, first_event_id
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
RETURNING source_key, events
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

# The batch's objects whose manifest row does not add up (received <> loaded + dups + rejected).
UNACCOUNTED_SQL = """
SELECT key, unaccounted FROM dw.loaded_files WHERE key = ANY(%s::text[]) AND unaccounted <> 0
"""

# A failed object: permanent ones once (the runner never picks them again), transient ones
# with the next attempt due after base * 2^(attempts - 1) seconds, capped. An operator's mark
# (etl.mark) survives further failures (a replay may retry a marked object); a load clears
# nothing of it but the failure. Never downgrades an object already loaded.
FAILED_SQL = """
INSERT INTO dw.loaded_files AS f (key, kind, dt, etag, size_bytes, status, error, failure,
                                  next_attempt_at, failed_since, received, received_source)
VALUES (%(key)s, %(kind)s, %(dt)s, %(etag)s, %(size)s, 'failed', %(error)s, %(failure)s,
        CASE WHEN %(failure)s = 'transient' THEN now() + make_interval(secs => least(%(max_s)s, %(base_s)s)) END,
        now(), %(received)s, CASE WHEN %(received)s::integer IS NOT NULL THEN 'metadata' END)
ON CONFLICT (key) DO UPDATE SET
    attempts = f.attempts + 1, error = EXCLUDED.error, etag = EXCLUDED.etag,
    failure = EXCLUDED.failure,
    next_attempt_at = CASE WHEN EXCLUDED.failure = 'transient' THEN now() + make_interval(
        secs => least(%(max_s)s, %(base_s)s * power(2, least(f.attempts, 30)))) END,
    failed_since = coalesce(f.failed_since, now()),
    received = coalesce(EXCLUDED.received, f.received),
    received_source = coalesce(EXCLUDED.received_source, f.received_source),
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
    #: What the delivery holds (declared by its writer, else its lines) and where that came from.
    received: int = 0
    received_source: str = "lines"
    stream_error: str | None = None
    #: received - loaded - duplicates - rejected as the manifest row now has it (a replay's
    #: row keeps its first load's counts): 0 when every delivered event is accounted for.
    unaccounted: int = 0


def prepare(conn: psycopg.Connection) -> None:
    """Create this session's temporary staging tables (once per connection)."""
    conn.execute(SETUP_SQL)
    conn.commit()


def _exclusions(objs: list[ParsedObject], known: set[str]) -> dict[int, set[str]]:
    """Per object index, the ids it must leave out: known to the warehouse or seen earlier."""
    seen: set[str] = set()
    out: dict[int, set[str]] = {}
    for i, o in enumerate(objs):
        drop = seen.intersection(o.event_ids)
        if known:
            drop |= known.intersection(o.event_ids)
        if drop:
            out[i] = drop
        seen.update(o.event_ids)
    return out


class Fence(Protocol):
    """What the loader needs of the run lock: prove, inside a transaction, it is still ours."""

    def fence(self, cur: psycopg.Cursor) -> None: ...


def load_batch(
    conn: psycopg.Connection, objs: list[ParsedObject], *, replay_keys: frozenset[str] = frozenset(),
    hook: Hook | None = None, lock: Fence | None = None,
) -> list[FileResult]:
    """Load whole objects in one transaction; on any error nothing of them remains.

    With ``lock``, the transaction first proves the run still holds the warehouse lock
    (and keeps its row locked until commit), so a run that lost its lease to another
    can never commit a batch after it. The steps are the module docstring's, in its order.
    """
    hook = hook or _no_hook
    with conn.transaction(), conn.cursor() as cur:
        if lock is not None:
            lock.fence(cur)
        file_ids = _upsert_manifest(cur, objs)
        objs = _without_known_ids(cur, objs)
        _ensure_partitions(cur, objs)
        _copy_events(cur, objs, file_ids)
        _copy_staging(cur, objs, file_ids)
        hook("after_copy")
        rejected = _merge_staging(cur, objs)
        results = _count(cur, objs, rejected, replay_keys)
        hook("before_commit")
    return results


def _no_hook(_stage: str) -> None:
    pass


def _upsert_manifest(cur: psycopg.Cursor, objs: list[ParsedObject]) -> dict[str, int]:
    """Step 1: the objects' manifest rows (status ``loaded``), ``key -> file_id``."""
    cur.execute(MANIFEST_SQL, (
        [o.key for o in objs], [o.kind for o in objs], [o.dt for o in objs],
        [o.etag for o in objs], [o.size for o in objs], ["loaded"] * len(objs),
        [o.lines for o in objs], [o.received for o in objs],
        [o.received_source for o in objs], [o.stream_error for o in objs],
    ))
    return dict(cur.fetchall())


def _without_known_ids(cur: psycopg.Cursor, objs: list[ParsedObject]) -> list[ParsedObject]:
    """Steps 3-4: the objects refolded without ids the warehouse or the batch already has.

    A new list: the caller's keeps the objects as parsed (for a retry one by one). The
    refold runs here, in the loader. Measured over batcher-packed objects (2-core machine
    under load): 7.6 us of CPU per event against 34 for the worker's second parse of the
    body; in a worker it would add about 2.8 us per event of pickling the COPY text there
    and back, and on two cores shared with PostgreSQL total CPU is the bound, not the
    loader thread. That re-parse (:meth:`ParsedObject.reparse_async`) stays the reference,
    and the fallback for an object whose COPY text does not line up with its ids
    (:class:`RefoldError`).
    """
    all_ids = [i for o in objs for i in o.event_ids]
    known: set[str] = set()
    if all_ids:
        cur.execute(KNOWN_IDS_SQL, ("{" + ",".join(all_ids) + "}",))
        known = {r[0] for r in cur.fetchall()}
    out = list(objs)
    reparsed = {}
    for i, drop in _exclusions(out, known).items():
        try:
            out[i] = refold(out[i], drop)
        except RefoldError:
            reparsed[i] = out[i].reparse_async(drop)
    for i, fut in reparsed.items():
        out[i] = fut.result()
    return out


def _ensure_partitions(cur: psycopg.Cursor, objs: list[ParsedObject]) -> None:
    """Step 2: exactly the months the batch's events fall in (each object's are bounded by its
    dt partition, see etl.parsing), never every month between the batch's extremes."""
    months = sorted({d.replace(day=1) for o in objs for d in o.days})
    if months:
        cur.execute("SELECT dw.ensure_event_partitions(m, m) FROM unnest(%s::timestamptz[]) AS m",
                    ([datetime(m.year, m.month, m.day, tzinfo=UTC) for m in months],))


def _copy_events(cur: psycopg.Cursor, objs: list[ParsedObject], file_ids: dict[str, int]) -> None:
    """Step 5: ``COPY dw.event_ids`` then ``COPY dw.events`` from the parser's COPY text."""
    if not any(o.event_ids for o in objs):
        return
    with cur.copy("COPY dw.event_ids (event_id, event_ts) FROM STDIN") as cp:
        for o in objs:
            if o.id_text:
                cp.write(o.id_text)
    cols = ", ".join((*EVENT_COLUMNS, "file_id"))
    with cur.copy(f"COPY dw.events ({cols}) FROM STDIN") as cp:
        for o in objs:
            if o.copy_text:
                # Every row ends in a newline (newlines inside values are escaped by the
                # parser), so appending the file id is one bytes.replace.
                cp.write(o.copy_text.replace(b"\n", b"\t%d\n" % file_ids[o.key]))


def _copy_text(cur: psycopg.Cursor, table: str, columns: tuple[str, ...], texts: Iterable[bytes]) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for text in texts:
            if text:
                cp.write(text)


def _copy_staging(cur: psycopg.Cursor, objs: list[ParsedObject], file_ids: dict[str, int]) -> None:
    """Purchases, session partials and rejects into this session's temporary tables.

    The parser wrote them as COPY text (no row objects cross from a parse worker); the
    purchases get their file id appended like the events' rows.
    """
    if any(o.purchases_text for o in objs):
        _copy_text(cur, "etl_purchases", (*PURCHASE_COLUMNS, "file_id"),
                   (o.purchases_text.replace(b"\n", b"\t%d\n" % file_ids[o.key]) for o in objs))
    if any(o.sessions_text for o in objs):
        _copy_text(cur, "etl_sessions", SESSION_COLUMNS, (o.sessions_text for o in objs))
    if any(o.rejects_text for o in objs):
        _copy_text(cur, "etl_rejects", REJECT_COLUMNS, (o.rejects_text for o in objs))


def _merge_staging(cur: psycopg.Cursor, objs: list[ParsedObject]) -> Counter[str]:
    """Step 6: purchases, products, sessions, rejects and dirty days; rejected lines per key."""
    if any(o.purchases_text for o in objs):
        cur.execute(PURCHASES_SQL)
    products = merge_products(objs)
    if products:
        ids = sorted(products)
        cols = list(zip(*(products[i] for i in ids), strict=True))
        cur.execute(PRODUCTS_SQL, (ids, *(list(c) for c in cols)))
    if any(o.sessions_text for o in objs):
        cur.execute(SESSION_DAYS_SQL)
        cur.execute(SESSIONS_SQL)
    rejected: Counter[str] = Counter()
    if any(o.rejects_text for o in objs):
        cur.execute(REJECTS_SQL)
        for source_key, events in cur.fetchall():
            rejected[source_key] += events
    days = sorted(set().union(*(o.days for o in objs)))
    if days:
        cur.execute(DIRTY_SQL, (days,))
    return rejected


def _count(cur: psycopg.Cursor, objs: list[ParsedObject], rejected: Counter[str],
           replay_keys: frozenset[str]) -> list[FileResult]:
    """The manifest counts of each object, and what does not add up on its row."""
    results = [FileResult(
        key=o.key, lines=o.lines, events_loaded=len(o.event_ids),
        duplicates=o.duplicates_in_object + o.excluded, rejected=rejected[o.key],
        received=o.received, received_source=o.received_source, stream_error=o.stream_error,
    ) for o in objs]
    cur.execute(COUNTS_SQL, (
        [r.key for r in results], [r.events_loaded for r in results],
        [r.rejected for r in results], [r.duplicates for r in results],
        [r.key in replay_keys for r in results],
    ))
    cur.execute(UNACCOUNTED_SQL, ([r.key for r in results],))
    off = dict(cur.fetchall())
    for r in results:
        r.unaccounted = off.get(r.key, 0)
    return results


def record_failure(conn: psycopg.Connection, obj, error: str, *, permanent: bool = False,
                   retry_base_s: float = 300, retry_max_s: float = 3600, received: int | None = None,
                   lock: Fence | None = None) -> None:
    """Mark an object failed: ``permanent`` once, else due again after a backoff.

    Never downgrades an object already loaded. ``received`` is the writer's declared count
    when the object was read (permanently bad content), so its events are known to be owed.
    """
    with conn.transaction(), conn.cursor() as cur:
        if lock is not None:
            lock.fence(cur)
        cur.execute(FAILED_SQL, {
            "key": obj.key, "kind": obj.kind, "dt": obj.dt, "etag": obj.etag, "size": obj.size,
            "error": error[:2000], "failure": "permanent" if permanent else "transient",
            "base_s": float(retry_base_s), "max_s": float(retry_max_s), "received": received,
        })


def refresh_dirty_days(conn: psycopg.Connection, *, time_left: Callable[[], float] | None = None,
                       hook: Hook | None = None,
                       connect: Callable[[], psycopg.Connection] | None = None,
                       parallel: int = 1,
                       before_day: Callable[[psycopg.Connection], None] | None = None) -> list[date]:
    """Recompute the rollups of every dirty day, one transaction per day, oldest first.

    With ``connect`` and ``parallel`` > 1, up to ``parallel`` days are refreshed at once on
    separate connections (``conn`` plus ``parallel - 1`` opened with ``connect``). Each
    day's refresh only touches that day's rollup rows, so concurrent days never wait on
    each other; on two cores this halves the rollup phase of a multi-day load.
    ``before_day`` runs on the day's connection before its transaction (the run renews its
    lock lease there, so a long refresh never lets the lease run out).
    """
    days = [r[0] for r in conn.execute("SELECT day FROM dw.dirty_days ORDER BY day").fetchall()]
    conn.commit()
    todo = deque(days)
    done: list[date] = []

    def worker(c: psycopg.Connection) -> None:
        while True:
            try:
                day = todo.popleft()  # deque.popleft is atomic across threads
            except IndexError:
                return
            if time_left is not None and time_left() <= 0:
                todo.clear()
                return
            if before_day is not None:
                before_day(c)
            with c.transaction():
                c.execute("SELECT dw.refresh_day(%s)", (day,))
                c.execute("DELETE FROM dw.dirty_days WHERE day = %s", (day,))
                if hook:
                    hook("refresh_day")
            done.append(day)

    n = min(parallel, len(days)) if connect is not None else 1
    if n <= 1:
        worker(conn)
        return done
    extra = [connect() for _ in range(n - 1)]
    try:
        with ThreadPoolExecutor(max_workers=n, thread_name_prefix="etl-refresh") as pool:
            for fut in [pool.submit(worker, c) for c in (conn, *extra)]:
                fut.result()
    finally:
        for c in extra:
            c.close()
    return sorted(done)
