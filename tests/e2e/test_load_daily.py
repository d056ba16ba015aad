"""dw.load_daily (its triggers in sql/dw/definitions) always equals an aggregate of the manifest dw.loaded_files.

The Data health page reads the per-day rollup instead of the ~400k-row manifest, so the
rollup must be exact after everything the ETL does to the manifest: batch loads, replays
of loaded objects, failed objects (and their later success), a batch that crashes before
commit, and any other write (deletes, a day or time changed, truncate).
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta

import psycopg
import pytest
from etl import loading
from etl.parsing import parse_object

from clickstream import traffic
from clickstream.warehouse import migrate

pytestmark = pytest.mark.e2e

ROLLUP = """SELECT dt, files_loaded, files_failed, lines, events_loaded, duplicates, rejected,
                   last_loaded_at, last_success_at, received, mismatched_files, unreadable_files
              FROM dw.load_daily ORDER BY dt"""
# The accounting columns: received over loaded objects, loaded objects whose counts do
# not add up, failed objects nobody has marked.
TRUTH = """
SELECT dt, count(*) FILTER (WHERE status = 'loaded'), count(*) FILTER (WHERE status = 'failed'),
       sum(lines), sum(events_loaded), sum(duplicates), sum(rejected), max(loaded_at),
       max(loaded_at) FILTER (WHERE status = 'loaded'),
       coalesce(sum(received) FILTER (WHERE status = 'loaded'), 0),
       count(*) FILTER (WHERE status = 'loaded'
                          AND received IS DISTINCT FROM events_loaded + duplicates + rejected),
       count(*) FILTER (WHERE status = 'failed' AND marked_at IS NULL)
  FROM dw.loaded_files GROUP BY dt ORDER BY dt"""


def assert_rollup_exact(conn: psycopg.Connection) -> list[tuple]:
    rollup = conn.execute(ROLLUP).fetchall()
    assert rollup == conn.execute(TRUTH).fetchall()
    return rollup


def parsed(objs) -> list:
    out = []
    for o in sorted(objs, key=lambda o: o.key):
        kind = "rejected" if "/rejected/" in o.key else "events"
        dt = date.fromisoformat(re.search(r"dt=(\d{4}-\d{2}-\d{2})", o.key).group(1))
        out.append(parse_object(
            o.key, kind, dt, f'"{hash(o.body) & 0xFFFFFFFF:08x}"', len(o.body), [o.body],
            max_decompressed=64 << 20, max_line=256 << 10,
            max_late=timedelta(days=30), max_future=timedelta(days=1)))
    return out


@pytest.fixture
def conn(pg_server):
    name = f"ld_{uuid.uuid4().hex[:12]}"
    dsn = pg_server.create_database(name)
    migrate(dsn)
    with psycopg.connect(dsn) as c:
        loading.prepare(c)
        yield c
    pg_server.drop_database(name)


class Crash(RuntimeError):
    pass


def test_rollup_follows_loads_replays_failures_and_crashes(conn):
    objs, truth = traffic.generate(traffic.TrafficConfig(seed=3, events=1_500, days=2))
    batch = parsed(objs)
    half = len(batch) // 2

    # A batch that dies before commit leaves neither manifest rows nor rollup rows.
    def crash(stage: str) -> None:
        if stage == "before_commit":
            raise Crash(stage)
    with pytest.raises(Crash):
        loading.load_batch(conn, batch[:half], hook=crash)
    assert conn.execute("SELECT count(*) FROM dw.load_daily").fetchone() == (0,)

    # One object fails first, then loads on a later run.
    bad = batch[half]
    loading.record_failure(conn, bad, "gzip: invalid header")
    loading.record_failure(conn, bad, "gzip: invalid header again")
    rows = assert_rollup_exact(conn)
    assert [(r[1], r[2]) for r in rows] == [(0, 1)] and rows[0][8] is None

    loading.load_batch(conn, batch[:half])
    loading.load_batch(conn, batch[half:])
    rows = assert_rollup_exact(conn)
    assert sum(r[1] for r in rows) == len(batch) and sum(r[2] for r in rows) == 0
    assert sum(r[4] for r in rows) == truth.unique_events
    # A failure after success never downgrades the object (nor the rollup).
    loading.record_failure(conn, bad, "late failure")
    assert assert_rollup_exact(conn) == rows

    # Replaying loaded objects adds no files, events or duplicates; only times move on.
    keys = frozenset(o.key for o in batch[:5])
    loading.load_batch(conn, batch[:5], replay_keys=keys)
    replayed = assert_rollup_exact(conn)
    assert [r[1:7] for r in replayed] == [r[1:7] for r in rows]
    assert max(r[7] for r in replayed) >= max(r[7] for r in rows)


def test_rollup_stays_exact_under_any_manifest_write(conn):
    """Writes the ETL never makes still keep the rollup exact (maxima recomputed)."""
    t0 = datetime.fromisoformat("2024-06-01T00:00:00+00:00")
    conn.execute("""
        INSERT INTO dw.loaded_files (key, kind, dt, status, failure, lines, events_loaded, duplicates,
                                     rejected, loaded_at, received)
        SELECT 'k' || i, 'events', date '2024-06-01' + i %% 3, CASE WHEN i %% 7 = 0 THEN 'failed'
               ELSE 'loaded' END, CASE WHEN i %% 7 = 0 THEN 'transient' END, 25, 24, i %% 2, i %% 5,
               %s + make_interval(mins => i), 24 + i %% 2 + i %% 5 + i %% 4
          FROM generate_series(1, 60) AS i""", (t0,))
    assert_rollup_exact(conn)
    steps = [
        "DELETE FROM dw.loaded_files WHERE key IN ('k60', 'k57', 'k3')",  # the newest rows
        "UPDATE dw.loaded_files SET loaded_at = loaded_at - interval '2 days' WHERE key = 'k59'",
        "UPDATE dw.loaded_files SET dt = date '2024-07-01' WHERE key IN ('k58', 'k1')",
        "UPDATE dw.loaded_files SET status = 'failed', failure = 'permanent' WHERE key = 'k55'",
        "UPDATE dw.loaded_files SET marked_at = now(), mark_reason = 'gone' WHERE key = 'k56'",
        "UPDATE dw.loaded_files SET received = received + 1 WHERE key IN ('k2', 'k4')",
        "DELETE FROM dw.loaded_files WHERE dt = date '2024-07-01'",  # the whole day goes
        "UPDATE dw.loaded_files SET events_loaded = events_loaded + 1",
        "DELETE FROM dw.loaded_files WHERE key = 'no-such-key'",
    ]
    for sql in steps:
        conn.execute(sql)
        rows = assert_rollup_exact(conn)
    assert date(2024, 7, 1) not in [r[0] for r in rows]
    conn.execute("TRUNCATE dw.loaded_files CASCADE")
    assert assert_rollup_exact(conn) == []
    conn.commit()
