"""ETL under faults: hostile objects, crashes mid-load, the database down, the Lambda clock.

Each test builds its own bucket prefix and warehouse database, so the faults of one never
leak into another. All against the emulator's S3 and a real PostgreSQL.

The audit's loss paths each have a section below: reads that fail across runs (through
clickstream.s3proxy, which fails chosen GETs in front of the emulator), runs SIGKILLed or
frozen at seeded random points, the database restarted mid-run, and every broken-object
class. Each ends on the same check (:func:`assert_nothing_lost`): the valid events sent are
exactly the events in dw.events, none twice, and every loaded object adds up,
received = loaded + duplicates + rejected.

Over 500 lines on purpose: the sections share the fixtures, the proxy and the one
nothing-lost check, and pytest runs a file's module fixtures once per worker (one
emulator, one PostgreSQL), which a split into several files would multiply.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import boto3
import orjson
import psycopg
import pytest
from botocore.config import Config
from etl import metrics
from etl.config import Settings
from etl.db import WarehouseUnavailable
from etl.parsing import RATIO_SLACK
from etl.runner import Deadline, run

from clickstream import REPO_ROOT
from clickstream.s3proxy import S3Proxy
from clickstream.warehouse import migrate

pytestmark = pytest.mark.e2e

BUCKET = "etl-faults-raw"
RECEIVED = datetime(2024, 3, 5, 10, 30, tzinfo=UTC)
TODAY = date(2024, 3, 6)


def event(received: datetime = RECEIVED, **over) -> dict:
    """A valid enriched page_view, as the ingest Lambda stores it."""
    rec = received.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    ev = {"event_id": str(uuid.uuid4()), "event_name": "page_view", "event_ts": rec,
          "anonymous_id": "anon-1", "session_id": f"s-{uuid.uuid4()}",
          "page": {"url": "https://shop.example.com/", "path": "/", "title": "Home"},
          "app_id": "shop-web", "sent_at": rec, "received_at": rec,
          "request_id": str(uuid.uuid4()), "ip_anon": "203.0.113.0",
          "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/127.0"}
    ev.update(over)
    return ev


def put(s3, prefix: str, body: bytes, *, received: datetime = RECEIVED, kind: str = "events",
        declared: int | None = None) -> str:
    """Store an object as ingest does; ``declared`` writes its count in the metadata as ingest
    now does (events/rejected), None stores none (an older writer)."""
    ms = int(received.timestamp() * 1000)
    middle = "rejected/" if kind == "rejected" else ""
    key = f"{prefix}{middle}dt={received:%Y-%m-%d}/hr={received:%H}/{ms}-{uuid.uuid4()}.jsonl.gz"
    meta = {}
    if declared is not None:
        meta = {"events": str(declared if kind == "events" else 0),
                "rejected": str(declared if kind == "rejected" else 0), "event-count": str(declared)}
    s3.put_object(Bucket=BUCKET, Key=key, Body=body, Metadata=meta)
    return key


def gz(lines: list[bytes]) -> bytes:
    return gzip.compress(b"\n".join(lines) + b"\n")


def good_lines(n: int, **over) -> list[bytes]:
    return [orjson.dumps(event(**over)) for _ in range(n)]


@pytest.fixture(scope="module")
def s3(emulator):
    client = boto3.client("s3", endpoint_url=emulator.endpoint_url)
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def warehouse(pg_server):
    """A fresh migrated database and a private key prefix per test."""
    name = f"etlf_{uuid.uuid4().hex[:12]}"
    dsn = pg_server.create_database(name)
    migrate(dsn)
    prefix = f"t{uuid.uuid4().hex[:8]}/events/v1/"
    # Small limits keep the hostile cases (bomb, huge line) fast; the logic is the same.
    yield Settings(raw_bucket=BUCKET, raw_prefix=prefix, dw_dsn=dsn,
                   max_decompressed_bytes=1_000_000, max_line_bytes=4096)
    pg_server.drop_database(name)


def q(settings: Settings, sql: str, *args):
    with psycopg.connect(settings.dw_dsn) as c:
        return c.execute(sql, args).fetchall()


def one(settings: Settings, sql: str, *args):
    return q(settings, sql, *args)[0][0]


def test_malformed_line_rejected_with_reason_rest_of_file_loads(s3, warehouse):
    lines = good_lines(3)
    lines.insert(1, b'{"event_id": "not-a-uuid", "event_name": "page_view"}')
    key = put(s3, warehouse.raw_prefix, gz(lines))
    out = run(warehouse, today=TODAY)
    assert (out["files_loaded"], out["events_loaded"], out["rejected"]) == (1, 3, 1)
    rows = q(warehouse, "SELECT source_key, line_no, stage, reason, payload->>'event_id' "
                        "FROM dw.rejected_events")
    assert rows == [(key, 2, "etl", "invalid event_id: not a UUID", "not-a-uuid")]
    assert one(warehouse, "SELECT lines || '/' || events_loaded || '/' || rejected "
                          "FROM dw.loaded_files WHERE key = %s", key) == "4/3/1"


def complete_lines(body: bytes) -> int:
    """Newline-terminated lines in what a (possibly broken) gzip body decompresses to."""
    return zlib.decompressobj(wbits=31).decompress(body).count(b"\n")


def test_hostile_objects(s3, warehouse):
    p = warehouse.raw_prefix
    ok_key = put(s3, p, gz(good_lines(2)))
    not_gzip = put(s3, p, b'{"event_id": "plain json, not gzip"}\n')
    truncated_body = gz(good_lines(50))[:-30]
    truncated = put(s3, p, truncated_body)
    bomb = put(s3, p, gzip.compress(b"\n" * (warehouse.max_decompressed_bytes + 1024), 9))
    # Ordinary lines, ordinary ratio, just more of them than the limit allows.
    too_big = put(s3, p, gz(good_lines(warehouse.max_decompressed_bytes // 400)))
    trailing_garbage = put(s3, p, gz(good_lines(1)) + b"this is not a gzip member")
    huge = orjson.dumps(event(page={"title": "x" * (warehouse.max_line_bytes + 10)}))
    mixed = put(s3, p, gz([
        huge,                                   # over the line limit
        b"\xff\xfe\x00 not utf-8",              # binary junk
        b"[1, 2, 3]",                           # JSON, not an object
        b"null",
        orjson.dumps(event(event_ts="yesterday")),
        orjson.dumps(event(event_ts="2024-03-05T10:00:00")),   # no offset
        orjson.dumps(event(event_ts="1999-01-01T00:00:00Z")),  # before the late window
        orjson.dumps(event(value=1e300)),       # would overflow numeric(18,4)
        orjson.dumps(event(session_id="")),
        orjson.dumps(event(page={"title": "nul \u0000 inside"})),
        orjson.dumps(event(items=[{"item_id": "SKU-1", "quantity": "two"}])),
        *good_lines(2),
    ]))
    empty = put(s3, p, b"")
    out = run(warehouse, today=TODAY)

    status = dict(q(warehouse, "SELECT key, status || '/' || coalesce(failure, '-') FROM dw.loaded_files"))
    assert status == {ok_key: "loaded/-", mixed: "loaded/-", empty: "loaded/-", truncated: "loaded/-",
                      trailing_garbage: "loaded/-", not_gzip: "failed/permanent", bomb: "failed/permanent",
                      too_big: "failed/permanent"}
    errors = dict(q(warehouse, "SELECT key, error FROM dw.loaded_files WHERE error IS NOT NULL"))
    assert "not a valid gzip stream" in errors[not_gzip]
    assert "decompression bomb refused" in errors[bomb]
    assert "decompressed size exceeds" in errors[too_big]
    assert errors[truncated].startswith("truncated gzip stream")  # loaded, with the break noted
    assert errors[trailing_garbage].startswith("corrupt gzip stream")
    assert (out["files_failed"], out["files_failed_permanent"], out["files_loaded"]) == (3, 3, 5)
    # 2 + 2 good lines, the truncated object's complete lines, the first member of the other.
    assert one(warehouse, "SELECT count(*) FROM dw.events") == 4 + complete_lines(truncated_body) + 1
    reasons = [r for (r,) in q(warehouse, "SELECT reason FROM dw.rejected_events "
                                           "WHERE source_key = %s ORDER BY line_no", mixed)]
    assert len(reasons) == 11
    assert reasons[0].startswith("line too long")
    assert reasons[1].startswith("invalid JSON")
    assert reasons[2] == reasons[3] == "not a JSON object"
    assert reasons[4].startswith("invalid event_ts") and reasons[5].startswith("invalid event_ts")
    assert reasons[6].startswith("event_ts too old")
    assert reasons[7] == "invalid value: out of range"
    assert reasons[8] == "missing session_id"
    assert reasons[9].startswith("page/title: contains the NUL character")  # common.text's reason
    assert reasons[10].startswith("invalid items")
    # Rejects keep what can be kept: JSON payloads as jsonb, other bytes as bounded text.
    raw, payload = q(warehouse, "SELECT raw, payload FROM dw.rejected_events "
                                "WHERE source_key = %s AND line_no = 2", mixed)[0]
    assert payload is None and "not utf-8" in raw and "\x00" not in raw
    assert one(warehouse, "SELECT max(length(raw)) FROM dw.rejected_events") <= 8192
    # Every loaded object adds up: received (its lines: no metadata) = loaded + dups + rejected.
    assert q(warehouse, "SELECT key FROM dw.loaded_files WHERE status = 'loaded' AND unaccounted <> 0") == []

    # Bad objects are failed once, never retried: the second run reads none of them again.
    second = run(warehouse, today=TODAY)
    assert second["files_failed"] == 0 and second["files_loaded"] == 0 and second["files_listed"] == 8
    assert one(warehouse, "SELECT max(attempts) FROM dw.loaded_files WHERE status = 'failed'") == 1
    assert second["unreadable_objects"] == 3  # visible until an operator marks them


def test_ingest_reject_objects_are_loaded_as_rejects(s3, warehouse):
    ev = event(event_name="clickk")
    recs = [orjson.dumps({"index": 0, "reason": "event_name: must be one of the GA4 names",
                          "payload": ev, "app_id": "shop-web", "request_id": "r-1",
                          "received_at": "2024-03-05T10:30:00.000Z"}), b"not json"]
    key = put(s3, warehouse.raw_prefix, gz(recs), kind="rejected")
    out = run(warehouse, today=TODAY)
    assert out["rejected"] == 2 and out["events_loaded"] == 0
    rows = q(warehouse, "SELECT stage, reason, item_index, payload->>'event_name', request_id "
                        "FROM dw.rejected_events WHERE source_key = %s ORDER BY line_no", key)
    assert rows[0] == ("ingest", "event_name: must be one of the GA4 names", 0, "clickk", "r-1")
    assert rows[1][0] == "etl" and rows[1][1].startswith("invalid JSON")


def test_crash_between_copy_and_commit_leaves_nothing(s3, warehouse):
    keys = [put(s3, warehouse.raw_prefix, gz(good_lines(5))) for _ in range(3)]

    def crash(stage: str) -> None:
        if stage == "after_copy":
            raise RuntimeError("injected crash between COPY and commit")

    with pytest.raises(RuntimeError, match="injected crash"):
        run(warehouse, today=TODAY, hook=crash)
    for table in ("events", "event_ids", "sessions", "loaded_files", "rejected_events", "dirty_days"):
        assert one(warehouse, f"SELECT count(*) FROM dw.{table}") == 0, table
    out = run(warehouse, today=TODAY)
    assert out["files_loaded"] == 3 and out["events_loaded"] == 15
    assert sorted(k for (k,) in q(warehouse, "SELECT key FROM dw.loaded_files")) == sorted(keys)


def test_killed_process_mid_load_leaves_nothing(s3, warehouse):
    put(s3, warehouse.raw_prefix, gz(good_lines(40)))
    script = textwrap.dedent(f"""
        import os, signal
        from datetime import date
        from etl.config import Settings
        from etl.runner import run
        def die(stage):
            if stage == "before_commit":
                os.kill(os.getpid(), signal.SIGKILL)
        run(Settings(raw_bucket={BUCKET!r}, raw_prefix={warehouse.raw_prefix!r},
                     dw_dsn={warehouse.dw_dsn!r}), today=date(2024, 3, 6), hook=die)
    """)
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT / 'lambda_src'}:{REPO_ROOT}"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    assert one(warehouse, "SELECT count(*) FROM dw.events") == 0
    assert one(warehouse, "SELECT count(*) FROM dw.loaded_files") == 0
    out = run(warehouse, today=TODAY)
    assert out["events_loaded"] == 40 and out["files_loaded"] == 1


def test_database_down_at_start(s3, warehouse, pg_server):
    put(s3, warehouse.raw_prefix, gz(good_lines(4)))
    down = Settings(raw_bucket=BUCKET, raw_prefix=warehouse.raw_prefix,
                    dw_dsn=f"postgresql://postgres@127.0.0.1:{_closed_port()}/x", connect_timeout_s=2)
    with pytest.raises(WarehouseUnavailable, match=r"cannot connect to the warehouse at 127\.0\.0\.1"):
        run(down, today=TODAY)
    assert one(warehouse, "SELECT count(*) FROM dw.loaded_files") == 0
    unmigrated = pg_server.create_database(f"etlf_empty_{uuid.uuid4().hex[:8]}")
    with pytest.raises(WarehouseUnavailable, match=r"apply the sql/dw migrations"):
        run(Settings(raw_bucket=BUCKET, raw_prefix=warehouse.raw_prefix, dw_dsn=unmigrated),
            today=TODAY)
    out = run(warehouse, today=TODAY)
    assert out["files_loaded"] == 1 and out["events_loaded"] == 4


def test_stops_before_deadline_and_resumes(s3, warehouse):
    for _ in range(6):
        put(s3, warehouse.raw_prefix, gz(good_lines(3)))
    budget = {"calls": 0}

    def remaining_ms() -> int:
        budget["calls"] += 1
        return 120_000 if budget["calls"] <= 3 else 1_000

    small = Settings(**{**warehouse.__dict__, "batch_max_files": 1})
    first = run(small, today=TODAY, deadline=Deadline(remaining_ms, safety_ms=60_000))
    assert first["stopped_early"] and 0 < first["files_loaded"] < 6
    assert first["remaining"] == 6 - first["files_loaded"]
    assert first["days_pending_refresh"] == 1  # no time left for rollups either
    second = run(warehouse, today=TODAY)
    assert second["files_loaded"] == first["remaining"] and not second["stopped_early"]
    assert one(warehouse, "SELECT count(*) FROM dw.events") == 18
    assert one(warehouse, "SELECT events FROM dw.daily_overview") == 18


def test_late_object_found_within_lookback_and_watermark_advances(s3, warehouse):
    put(s3, warehouse.raw_prefix, gz(good_lines(2)))
    run(warehouse, today=TODAY)
    assert one(warehouse, "SELECT value FROM dw.etl_state WHERE name = 'watermark'") == "2024-03-06"
    # An object for yesterday shows up after the run (written just before midnight).
    late_rec = RECEIVED + timedelta(hours=13)
    put(s3, warehouse.raw_prefix, gz(good_lines(3, received=late_rec)), received=late_rec)
    out = run(warehouse, today=date(2024, 3, 7))
    assert out["files_loaded"] == 1 and out["events_loaded"] == 3


def _closed_port() -> int:
    from clickstream.net import free_port

    return free_port()


def test_gzip_multi_member_and_padding(s3, warehouse):
    body = gz(good_lines(2)) + gz(good_lines(3)) + b"\x00" * 16
    put(s3, warehouse.raw_prefix, body)
    raw_deflate = zlib.compress(b"x")  # zlib, not gzip framing
    put(s3, warehouse.raw_prefix, raw_deflate)
    out = run(warehouse, today=TODAY)
    assert out["events_loaded"] == 5 and out["files_failed"] == 1


def test_worker_processes_parse_in_order_and_report_bad_objects(s3, warehouse):
    """The process pool the benchmark uses: results in order, unreadable objects as errors."""
    from etl.listing import list_day
    from etl.parsing import ObjectError
    from etl.workers import ProcessPool, WorkerError

    keys = [put(s3, warehouse.raw_prefix, gz(good_lines(n))) for n in (3, 1, 2)]
    keys.append(put(s3, warehouse.raw_prefix, b"not gzip at all"))
    objs = sorted(list_day(s3, BUCKET, warehouse.raw_prefix, "events", RECEIVED.date()),
                  key=lambda o: keys.index(o.key))
    with ProcessPool(warehouse, 2) as pool:
        futs = [pool.submit(o) for o in objs]
        assert [len(f.result(timeout=60).event_ids) for f in futs[:3]] == [3, 1, 2]
        with pytest.raises(ObjectError, match="not a valid gzip"):
            futs[3].result(timeout=60)
        procs = [w.proc for w in pool._workers]
        assert all(p.pid != os.getpid() and p.poll() is None for p in procs)
        # A worker that dies fails its pending requests instead of hanging the run.
        procs[0].kill()
        with pytest.raises(WorkerError):
            pool.submit(objs[0]).result(timeout=60)
    assert all(p.poll() is not None for p in procs)


def test_worker_results_carry_copy_text_only_and_re_parse_where_the_body_is(s3, warehouse):
    """A worker ships COPY text and accounting, never the raw body or row tuples; the loader's
    re-parse (ids it already has) runs in that worker from the body it kept, with no second GET."""
    from etl.listing import list_day
    from etl.workers import ProcessPool

    key = put(s3, warehouse.raw_prefix, gz([*good_lines(3), b'{"not": json']))
    (obj,) = [o for o in list_day(s3, BUCKET, warehouse.raw_prefix, "events", RECEIVED.date()) if o.key == key]
    with ProcessPool(warehouse, 1) as pool:
        po = pool.submit(obj).result(timeout=60)
        assert po.body is None and po.rejects == po.sessions == po.purchases == []
        assert len(po.event_ids) == 3 and po.reject_rows == 1
        assert po.rejects_text.count(b"\n") == 1 and po.sessions_text and po.copy_text.count(b"\n") == 3
        s3.delete_object(Bucket=BUCKET, Key=key)  # a second GET would now fail
        again = po.reparse({po.event_ids[0]})
        assert again.event_ids == po.event_ids[1:] and again.excluded == 1 and again.body is None
        assert again.copy_text.count(b"\n") == 2 and again.reject_rows == 1
        twice = again.reparse(set(po.event_ids[:2]))  # a re-parse result re-parses too
        assert twice.event_ids == po.event_ids[2:]


# == what every case below ends on ============================================================
def sent(n: int, **over) -> tuple[list[dict], bytes]:
    """``n`` valid events and the gzip JSON-lines body that carries them."""
    evs = [event(**over) for _ in range(n)]
    return evs, gz([orjson.dumps(e) for e in evs])


def ids(*groups: list[dict]) -> set[str]:
    return {e["event_id"] for g in groups for e in g}


def assert_nothing_lost(settings: Settings, valid: set[str], *, mismatched: frozenset[str] = frozenset()) -> None:
    """Valid events sent = events in dw.events, none twice, every loaded object adds up.

    Per loaded object: its rows in dw.events are exactly its events_loaded (nothing partial),
    its reject rows stand for exactly its rejected count, and received = loaded +
    duplicates + rejected (except the objects in ``mismatched``, whose writer lied).
    """
    assert {r[0] for r in q(settings, "SELECT event_id::text FROM dw.events")} == valid
    total, distinct = q(settings, "SELECT count(*), count(DISTINCT event_id) FROM dw.events")[0]
    assert total == distinct == one(settings, "SELECT count(*) FROM dw.event_ids")
    partial = q(settings, """
        SELECT f.key, f.events_loaded, count(e.event_id)
          FROM dw.loaded_files f LEFT JOIN dw.events e USING (file_id)
         WHERE f.status = 'loaded' GROUP BY f.key, f.events_loaded
        HAVING f.events_loaded <> count(e.event_id)""")
    assert partial == []
    rejects = q(settings, """
        SELECT f.key, f.rejected, coalesce(sum(r.events), 0)
          FROM dw.loaded_files f LEFT JOIN dw.rejected_events r ON r.source_key = f.key
         WHERE f.status = 'loaded' GROUP BY f.key, f.rejected
        HAVING f.rejected <> coalesce(sum(r.events), 0)""")
    assert rejects == []
    off = q(settings, "SELECT key FROM dw.loaded_files WHERE status = 'loaded' AND unaccounted IS DISTINCT FROM 0")
    assert {k for (k,) in off} == set(mismatched)


def watermark(settings: Settings) -> date:
    return date.fromisoformat(one(settings, "SELECT value FROM dw.etl_state WHERE name = 'watermark'"))


def reader(pg_server, settings: Settings) -> psycopg.Connection:
    """The dashboards' login (a member of dw_reader only) on this test's database."""
    dbname = psycopg.conninfo.conninfo_to_dict(settings.dw_dsn)["dbname"]
    return psycopg.connect(pg_server.reader_dsn(dbname))


# == 1. reads that fail across runs ===========================================================
@pytest.fixture(scope="module")
def proxy(emulator) -> Iterator[S3Proxy]:
    with S3Proxy(emulator.endpoint_url, hold_s=3) as p:
        yield p


@pytest.fixture
def via_proxy(proxy: S3Proxy, s3):  # noqa: ARG001 - s3 creates the bucket the proxy serves; a fixture cannot take usefixtures
    """An S3 client through the fault proxy, with short timeouts so a held GET fails fast."""
    proxy.clear()
    yield boto3.client("s3", endpoint_url=proxy.url, config=Config(
        read_timeout=1, connect_timeout=1, retries={"mode": "standard", "total_max_attempts": 2},
        s3={"addressing_style": "path"}))
    proxy.clear()


READ_FAULTS = [
    pytest.param({"mode": "status", "status": 503, "code": "SlowDown"}, 3, id="throttled-3-runs"),
    pytest.param({"mode": "status", "status": 500, "code": "InternalError"}, 1, id="internal-error"),
    pytest.param({"mode": "reset"}, 1, id="connection-reset"),
    pytest.param({"mode": "timeout"}, 1, id="read-timeout"),
    pytest.param({"mode": "truncate"}, 1, id="body-cut-short"),
]


@pytest.mark.parametrize(("fault", "runs"), READ_FAULTS)
def test_an_unreadable_object_is_retried_across_runs_until_it_loads(s3, warehouse, proxy, via_proxy,
                                                                    pg_server, fault, runs):
    """The audit's case: reads fail in three consecutive runs, the days move on past the
    look-back window. Before: given up, watermark past it, 40 of 40 events lost, no alarm."""
    owed, body = sent(40)
    key = put(s3, warehouse.raw_prefix, body, declared=40)
    others, other_body = sent(5)
    put(s3, warehouse.raw_prefix, other_body, declared=5)
    proxy.fail(key=key, **fault)  # every GET of it, until cleared
    settings = dataclasses.replace(warehouse, retry_base_s=1, retry_max_s=1)
    today = TODAY
    for attempt in range(1, runs + 1):
        out = run(settings, today=today, s3=via_proxy)
        assert (out["files_retrying"], out["files_failed_permanent"], out["unreadable_objects"]) == (1, 0, 1)
        assert metrics.document(out, function_name="etl")["UnreadableObjects"] == 1  # what alarms
        row = q(settings, "SELECT status, failure, attempts, next_attempt_at > loaded_at, error "
                          "FROM dw.loaded_files WHERE key = %s", key)[0]
        assert row[:4] == ("failed", "transient", attempt, True) and "cannot read object" in row[4]
        assert watermark(settings) <= RECEIVED.date()  # held at the day that owes it
        with reader(pg_server, settings) as c:  # what the Data health page reads
            assert c.execute("SELECT key, failure FROM dw.v_unreadable_objects").fetchall() == [(key, "transient")]
        today += timedelta(days=3)  # past the 2-day look-back: the old rule had moved on
        time.sleep(1.1)  # due again (retry_base_s = 1)
    gets = proxy.gets(key)
    assert gets >= runs  # every run tried it again (throttling: botocore twice per run)
    proxy.clear()
    out = run(settings, today=today, s3=via_proxy)
    assert (out["files_loaded"], out["events_loaded"], out["unreadable_objects"]) == (1, 40, 0)
    assert watermark(settings) == today
    assert_nothing_lost(settings, ids(owed, others))
    assert one(settings, "SELECT received_source FROM dw.loaded_files WHERE key = %s", key) == "metadata"


def test_a_retry_waits_for_its_backoff_and_the_backoff_doubles(s3, warehouse, proxy, via_proxy):
    owed, body = sent(3)
    key = put(s3, warehouse.raw_prefix, body, declared=3)
    proxy.fail(key=key, mode="status", status=503, code="SlowDown")
    settings = dataclasses.replace(warehouse, retry_base_s=60, retry_max_s=3600)

    def delay() -> float:
        return one(settings, "SELECT extract(epoch FROM next_attempt_at - loaded_at)::float8 "
                             "FROM dw.loaded_files WHERE key = %s", key)

    run(settings, today=TODAY, s3=via_proxy)
    assert delay() == pytest.approx(60, abs=1)
    gets = proxy.gets(key)
    out = run(settings, today=TODAY, s3=via_proxy)  # not due: not read, still owed, day held
    assert proxy.gets(key) == gets and out["files_failed"] == 0 and out["unreadable_objects"] == 1
    assert watermark(settings) == RECEIVED.date()
    one(settings, "UPDATE dw.loaded_files SET next_attempt_at = now() - interval '1 s' "
                  "WHERE key = %s RETURNING 1", key)  # an hour passes
    run(settings, today=TODAY, s3=via_proxy)
    assert proxy.gets(key) > gets and delay() == pytest.approx(120, abs=1)
    one(settings, "UPDATE dw.loaded_files SET next_attempt_at = now() - interval '1 s' "
                  "WHERE key = %s RETURNING 1", key)
    proxy.clear()
    assert run(settings, today=TODAY, s3=via_proxy)["events_loaded"] == 3
    assert_nothing_lost(settings, ids(owed))


def test_an_operator_mark_is_recorded_and_ends_the_retries(s3, warehouse, proxy, via_proxy, pg_server):
    _, body = sent(4)
    key = put(s3, warehouse.raw_prefix, body, declared=4)
    good, good_body = sent(2)
    loaded_key = put(s3, warehouse.raw_prefix, good_body, declared=2)
    proxy.fail(key=key, mode="status", status=503, code="SlowDown")
    settings = dataclasses.replace(warehouse, retry_base_s=1, retry_max_s=1)
    run(settings, today=TODAY, s3=via_proxy)
    env = {**os.environ, "RAW_BUCKET": BUCKET, "DW_DSN": settings.dw_dsn,
           "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "lambda_src"), str(REPO_ROOT)])}

    def mark(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "etl.mark", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    listed = mark("--list")
    assert listed.returncode == 0 and [o["key"] for o in orjson.loads(listed.stdout)] == [key]
    refused = [mark("--key", "no/such/key", "--reason", "x"), mark("--key", loaded_key, "--reason", "x"),
               mark("--key", key, "--reason", "   ")]
    assert [p.returncode for p in refused] == [2, 2, 2]
    assert "not in the manifest" in refused[0].stderr and "is loaded" in refused[1].stderr
    assert "a reason is required" in refused[2].stderr
    done = mark("--key", key, "--reason", "object deleted at the customer's request", "--by", "alice")
    assert done.returncode == 0, done.stderr
    assert mark("--key", key, "--reason", "again").returncode == 2  # already marked
    with reader(pg_server, settings) as c:
        assert c.execute("SELECT count(*) FROM dw.v_unreadable_objects").fetchone() == (0,)
        assert c.execute("SELECT unreadable_files FROM dw.v_freshness").fetchone() == (0,)
    assert q(settings, "SELECT action, reason, marked_by FROM dw.object_marks") == [
        ("mark", "object deleted at the customer's request", "alice")]
    time.sleep(1.1)
    gets = proxy.gets(key)
    out = run(settings, today=TODAY + timedelta(days=5), s3=via_proxy)
    assert proxy.gets(key) == gets and out["files_failed"] == 0 and out["unreadable_objects"] == 0
    assert watermark(settings) == TODAY + timedelta(days=5)  # a marked object holds nothing back
    # A mark can be undone: owed again, due at once, retried by the next run.
    assert mark("--clear", "--key", key, "--reason", "restored from backup", "--by", "bob").returncode == 0
    out = run(settings, today=TODAY + timedelta(days=5), s3=via_proxy)
    assert proxy.gets(key) > gets and out["unreadable_objects"] == 1
    assert watermark(settings) == RECEIVED.date()
    assert [r[0] for r in q(settings, "SELECT action FROM dw.object_marks ORDER BY id")] == ["mark", "clear"]
    assert_nothing_lost(settings, ids(good))


def test_worker_processes_tell_read_failures_from_bad_objects(s3, warehouse, proxy, monkeypatch):
    """The process pool's pipe keeps an error's class and the object's declared count."""
    from etl.listing import list_day
    from etl.parsing import ObjectError, ReadError
    from etl.workers import ProcessPool

    unreadable = put(s3, warehouse.raw_prefix, gz(good_lines(2)), declared=2)
    bomb = put(s3, warehouse.raw_prefix, gzip.compress(b"\n" * 5_000_000), declared=7)
    good = put(s3, warehouse.raw_prefix, gz(good_lines(3)), declared=3)
    proxy.clear()
    proxy.fail(key=unreadable, mode="status", status=503, code="SlowDown")
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)  # the workers' own S3 client
    objs = {o.key: o for o in list_day(s3, BUCKET, warehouse.raw_prefix, "events", RECEIVED.date())}
    try:
        with ProcessPool(warehouse, 1) as pool:
            futs = {k: pool.submit(objs[k]) for k in (unreadable, bomb, good)}
            with pytest.raises(ReadError, match="cannot read object") as read:
                futs[unreadable].result(timeout=60)
            with pytest.raises(ObjectError, match="decompression bomb") as bad:
                futs[bomb].result(timeout=60)
            assert futs[good].result(timeout=60).declared == 3
    finally:
        proxy.clear()
    assert not read.value.permanent and bad.value.permanent and bad.value.declared == 7


# == 2. runs killed, frozen or cut off: the lock never outlives its run =======================
#: A child ETL run: settings from argv, a hook that sends itself ``signal`` at the nth
#: ``stage`` (or never, for stage ""). SIGKILL is a crash; SIGSTOP a frozen Lambda sandbox,
#: whose session stays open on the server.
CHILD = textwrap.dedent("""
    import json, os, signal, sys
    from datetime import date
    from etl.config import Settings
    from etl.runner import run
    cfg = json.loads(sys.argv[1])
    seen = {"n": 0}
    def hook(stage):
        if stage == cfg["stage"]:
            seen["n"] += 1
            if seen["n"] == cfg["nth"]:
                os.kill(os.getpid(), getattr(signal, cfg["signal"]))
    run(Settings(**cfg["settings"]), today=date.fromisoformat(cfg["today"]), hook=hook)
""")
CHILD_SETTINGS = ("raw_bucket", "raw_prefix", "dw_dsn", "max_decompressed_bytes", "max_line_bytes",
                  "batch_max_files", "lock_lease_s", "retry_base_s", "retry_max_s")


def child(settings: Settings, stage: str, *, nth: int = 1, sig: str = "SIGKILL",
          today: date = TODAY) -> subprocess.Popen:
    cfg = {"settings": {k: getattr(settings, k) for k in CHILD_SETTINGS}, "stage": stage, "nth": nth,
           "signal": sig, "today": today.isoformat()}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "lambda_src"), str(REPO_ROOT)])}
    return subprocess.Popen([sys.executable, "-c", CHILD, orjson.dumps(cfg).decode()], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stopped(proc: subprocess.Popen, timeout: float = 60) -> bool:
    """Wait until ``proc`` has stopped itself (state T), or has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with open(f"/proc/{proc.pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] in ("T", "t"):
                return True
        time.sleep(0.02)
    raise TimeoutError("the child ETL run neither stopped nor exited")


def holder_backend(settings: Settings) -> int | None:
    return one(settings, "SELECT backend_pid FROM dw.etl_lock")


def lake(s3, settings: Settings, objects: int = 4, per: int = 6) -> set[str]:
    """A few objects with their metadata, one event sent twice (a retried delivery)."""
    groups = [sent(per)[0] for _ in range(objects)]
    groups[-1].append(groups[0][0])
    for g in groups:
        put(s3, settings.raw_prefix, gz([orjson.dumps(e) for e in g]), declared=len(g))
    return ids(*groups)


@pytest.mark.parametrize("stage", ["locked", "after_copy", "batch_committed", "refresh_day"])
def test_a_killed_run_never_keeps_the_next_one_out(s3, warehouse, stage):
    """SIGKILL: the client's socket closes with it, so its backend goes and the next run
    takes the lock over at once -- the lease (an hour here) plays no part."""
    valid = lake(s3, warehouse)
    settings = dataclasses.replace(warehouse, batch_max_files=1, lock_lease_s=3600)
    proc = child(settings, stage, nth=2 if stage == "batch_committed" else 1)
    assert proc.wait(timeout=120) == -signal.SIGKILL, proc.stderr.read().decode()
    started = time.monotonic()
    out = run(settings, today=TODAY)
    assert out["skipped"] is None and "session had ended" in out["lock_taken_over"]
    assert time.monotonic() - started < settings.lock_lease_s / 10  # not by waiting for the lease
    assert_nothing_lost(settings, valid)
    assert one(settings, "SELECT holder FROM dw.etl_lock") is None  # released at the end


@pytest.mark.parametrize("stage", ["locked", "after_copy"], ids=["between-batches", "inside-a-batch"])
def test_a_frozen_run_loses_the_lock_when_its_lease_runs_out(s3, warehouse, stage):
    """SIGSTOP: the frozen run's session stays open (inside a batch: with its transaction,
    the lock row and the batch's new ids locked). The next runs skip until its lease has run
    out, then one terminates the stale backend, takes over and loads everything."""
    valid = lake(s3, warehouse)
    lease = 4
    settings = dataclasses.replace(warehouse, batch_max_files=1, lock_lease_s=lease)
    proc = child(settings, stage, sig="SIGSTOP")
    try:
        assert stopped(proc), proc.stderr.read().decode()
        frozen_at, frozen = time.monotonic(), holder_backend(settings)
        assert one(settings, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", frozen) == 1
        outcomes = []
        while True:
            out = run(settings, today=TODAY)
            outcomes.append(out["skipped"])
            if out["skipped"] is None:
                break
            assert time.monotonic() - frozen_at < lease + 10, outcomes
        took = time.monotonic() - frozen_at
        assert "lease ran out" in out["lock_taken_over"] and outcomes[0] is not None
        assert took < lease + settings.lock_grace_s + 3  # the bound: the lease, plus one grace period
        assert one(settings, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", frozen) == 0
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert_nothing_lost(settings, valid)


def test_two_runs_at_once_one_skips(s3, warehouse):
    from etl import db

    valid = lake(s3, warehouse, objects=2)
    conn = db.connect(warehouse)
    try:
        held = db.acquire_lock(conn, purpose="run", lease_s=60)
        assert held is not None
        out = run(warehouse, today=TODAY)  # the holder is alive and within its lease
        assert out["skipped"] == "another ETL run or replay holds the warehouse lock"
        assert out["files_loaded"] == 0 and metrics.document(out, function_name="etl") is None
    finally:
        db.release_lock(conn, held)
    assert run(warehouse, today=TODAY)["files_loaded"] == 2
    assert_nothing_lost(warehouse, valid)


@pytest.mark.usefixtures("s3")
def test_a_run_that_lost_its_lease_cannot_commit(warehouse):
    """The fence: a batch first proves, in its own transaction, that the lease is still its."""
    from etl import db, loading
    from etl.parsing import parse_object

    conn = db.connect(warehouse)
    try:
        lock = db.acquire_lock(conn, purpose="run", lease_s=60)
        body = gz(good_lines(3))
        po = parse_object("k/one", "events", RECEIVED.date(), None, len(body), [body], max_decompressed=1 << 20,
                          max_line=4096, max_late=timedelta(days=30), max_future=timedelta(days=1))
        loading.prepare(conn)
        with conn.transaction():  # another run took it over (its holder id is not ours)
            conn.execute("UPDATE dw.etl_lock SET holder = gen_random_uuid()")
        with pytest.raises(db.LockLost, match="taken over"):
            loading.load_batch(conn, [po], lock=lock)
    finally:
        conn.close()
    assert one(warehouse, "SELECT count(*) FROM dw.events") == 0
    assert one(warehouse, "SELECT count(*) FROM dw.loaded_files") == 0


# == 3. SIGKILL at seeded random points =======================================================
#: The default seed's eight kill points reach every kind of point (inside a batch, between
#: batches, right after taking the lock, while recording a failure, while refreshing, at a
#: random moment); ETL_FAULT_SEED=<n> explores other interleavings, and a failure message
#: lists the kill points it used.
KILL_SEED = int(os.environ.get("ETL_FAULT_SEED", "979"))
KILL_STAGES = ("locked", "listed", "after_copy", "before_commit", "batch_committed", "failure_recorded",
               "refresh_day")


def test_sigkill_at_random_points_loses_and_doubles_nothing(s3, warehouse):
    import random

    rng = random.Random(KILL_SEED)
    valid = lake(s3, warehouse, objects=4, per=5)
    truncated_evs, truncated_body = sent(30)
    cut = truncated_body[:-25]
    put(s3, warehouse.raw_prefix, cut, declared=30)
    valid |= {e["event_id"] for e in truncated_evs[:complete_lines(cut)]}
    settings = dataclasses.replace(warehouse, batch_max_files=2, lock_lease_s=3600)
    kills: list[str] = []
    bad = 0
    for round_no in range(8):
        # Traffic keeps arriving between the crashes: new deliveries, now and then a bad one.
        valid |= lake(s3, settings, objects=2, per=3)
        if round_no % 2 == 0:
            put(s3, settings.raw_prefix, b"not gzip at all", declared=3)
            bad += 1
        if rng.random() < 0.7:  # at a named point in the run ...
            stage, nth = rng.choice(KILL_STAGES), rng.randint(1, 2)
            proc = child(settings, stage, nth=nth)
            kills.append(f"{stage}#{nth}")
        else:  # ... or wherever it is after a random delay
            delay = round(rng.uniform(0.3, 3.0), 2)
            proc = child(settings, "")
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                proc.kill()
            kills.append(f"after {delay}s")
        code = proc.wait(timeout=120)
        assert code in (0, -signal.SIGKILL), proc.stderr.read().decode()
        kills[-1] += " killed" if code else " finished"
        # Whatever was committed is whole: no partial object, no duplicate, all accounted.
        assert_nothing_lost(settings, {r[0] for r in q(settings, "SELECT event_id::text FROM dw.events")})
    assert sum(k.endswith("killed") for k in kills) >= 5, kills
    out = run(settings, today=TODAY)
    assert out["skipped"] is None, kills
    assert_nothing_lost(settings, valid)
    failed = q(settings, "SELECT attempts, failure FROM dw.loaded_files WHERE status = 'failed'")
    assert failed == [(1, "permanent")] * bad, kills  # each bad object failed once, never retried
    assert one(settings, "SELECT count(*) FROM dw.dirty_days") == 0
    assert one(settings, "SELECT sum(events) FROM dw.daily_overview") == len(valid), kills


# == 4. the database restarted mid-run ========================================================
@pytest.mark.parametrize("stage", ["listed", "after_copy", "batch_committed", "refresh_day"])
def test_a_database_restart_mid_run_loses_and_doubles_nothing(s3, warehouse, pg_server, stage):
    """An immediate restart (a crash: no checkpoint, unflushed asynchronous commits lost)
    cuts the run's sessions; the run fails, the next one takes the lock over and finishes."""
    valid = lake(s3, warehouse)
    settings = dataclasses.replace(warehouse, batch_max_files=1, lock_lease_s=3600)
    # The harness server commits asynchronously (synchronous_commit=off, like the ETL's own
    # sessions): without this, a crash right after set-up could take the fresh migrations.
    with psycopg.connect(pg_server.dsn(), autocommit=True) as c:
        c.execute("CHECKPOINT")
    restarted = []

    def restart(at: str) -> None:
        if at == stage and not restarted:
            restarted.append(at)
            pg_server.restart("immediate")

    with pytest.raises(psycopg.OperationalError):
        run(settings, today=TODAY, hook=restart)
    assert restarted == [stage]
    out = run(settings, today=TODAY)
    assert out["skipped"] is None
    # The crash may take the lock row itself with it (the harness commits asynchronously), and
    # then there is nothing to take over; otherwise the lock of an ended session is taken over.
    assert out["lock_taken_over"] is None or "session had ended" in out["lock_taken_over"], out
    assert_nothing_lost(settings, valid)
    assert one(settings, "SELECT sum(events) FROM dw.daily_overview") == len(valid)
    assert one(settings, "SELECT count(*) FROM dw.dirty_days") == 0


# == 5. every broken-object class, accounted ==================================================
def test_every_broken_object_class_loads_what_it_can_and_accounts_for_the_rest(s3, warehouse, proxy, via_proxy,
                                                                               pg_server):
    p = warehouse.raw_prefix
    settings = dataclasses.replace(warehouse, max_object_bytes=700_000)  # the bomb is under it
    # Truncated: its complete lines load, the rest is one reject standing for the missing events.
    t_evs, t_body = sent(50)
    cut = t_body[:-40]
    k_truncated = put(s3, p, cut, declared=50)
    n = complete_lines(cut)
    # The audit's bomb: ~600 KB of gzip expanding to 600 MB.
    bomb = gzip.compress(b"\n" * (1 << 20), 9) * 600
    k_bomb = put(s3, p, bomb, declared=25)
    k_plain = put(s3, p, b'{"event_id": "plain JSON, not gzip"}\n', declared=1)
    k_big = put(s3, p, os.urandom(800_000), declared=10)  # over max_object_bytes: never read
    big_lines = gz(good_lines(2_600))  # an ordinary ratio, over max_decompressed_bytes
    assert len(big_lines) < settings.max_object_bytes
    assert len(gzip.decompress(big_lines)) > settings.max_decompressed_bytes
    k_decompressed = put(s3, p, big_lines, declared=2_600)
    k_csv = put(s3, p, gzip.compress(b"".join(b"2024-03-05,page_view,%d\n" % i for i in range(500))), declared=500)
    # Receive times in 1970 and 2100 next to ordinary events: rejected, no partitions made.
    w_evs = [event() for _ in range(3)]
    odd = [event(received=datetime(1970, 1, 1, tzinfo=UTC)), event(received=datetime(2100, 1, 1, tzinfo=UTC))]
    k_when = put(s3, p, gz([orjson.dumps(e) for e in (*odd, *w_evs)]), declared=5)
    # A writer that declares 10 events and stores 8: loaded, and the mismatch is recorded.
    l_evs, l_body = sent(8)
    k_lie = put(s3, p, l_body, declared=10)
    # An older writer: no metadata, accounted by its lines.
    o_evs, o_body = sent(4)
    k_old = put(s3, p, o_body)
    k_stray = f"{p}dt={RECEIVED:%Y-%m-%d}/hr=10/export.csv"
    s3.put_object(Bucket=BUCKET, Key=k_stray, Body=b"a,b\n")

    out = run(settings, today=TODAY, s3=via_proxy)
    # Read in the first run (a client retry after the 1 s read timeout on a loaded machine is a
    # second GET of the same run, which is allowed), and never again once marked failed.
    read_once = [k_bomb, k_plain, k_decompressed, k_csv]
    gets_first = [proxy.gets(k) for k in read_once]
    again = run(settings, today=TODAY, s3=via_proxy)

    failed = {k_bomb, k_plain, k_big, k_decompressed, k_csv, k_stray}
    status = dict(q(settings, "SELECT key, status || '/' || coalesce(failure, '-') FROM dw.loaded_files"))
    assert status == {**{k: "failed/permanent" for k in failed},
                      **{k: "loaded/-" for k in (k_truncated, k_when, k_lie, k_old)}}
    assert (out["files_failed_permanent"], out["files_retrying"], out["files_loaded"]) == (6, 0, 4)
    # Marked failed once, with a reason, never read again; the oversized one never read at all.
    assert again["files_failed"] == 0 and again["files_loaded"] == 0 and again["unreadable_objects"] == 6
    assert all(n >= 1 for n in gets_first), gets_first
    assert [proxy.gets(k) for k in read_once] == gets_first
    assert proxy.gets(k_big) == proxy.gets(k_stray) == 0
    errors = dict(q(settings, "SELECT key, error FROM dw.loaded_files WHERE status = 'failed'"))
    assert "over the 700000 limit" in errors[k_big] and "not a valid gzip" in errors[k_plain]
    assert "decompressed size exceeds" in errors[k_decompressed] and "not JSON lines" in errors[k_csv]
    assert "not in the ingest layout" in errors[k_stray]
    # The bomb: refused on its ratio once past the slack (more than any delivery holds) and at
    # most two 256 KiB chunks, a small part of its 600 MB.
    refused_after = int(re.search(r"refused after (\d+) decompressed bytes", errors[k_bomb]).group(1))
    assert "decompression bomb refused" in errors[k_bomb]
    assert refused_after <= RATIO_SLACK + 2 * 256 * 1024 < (600 << 20) // 100
    # What was declared of the bad objects read is kept: those events are known to be owed.
    assert one(settings, "SELECT received FROM dw.loaded_files WHERE key = %s", k_bomb) == 25

    trunc = q(settings, "SELECT reason, events, line_no FROM dw.rejected_events WHERE source_key = %s", k_truncated)
    assert len(trunc) == 1 and trunc[0][0].startswith("truncated gzip stream")
    assert trunc[0][1:] == (50 - n, n + 1)
    when = q(settings, "SELECT reason FROM dw.rejected_events WHERE source_key = %s", k_when)
    assert [r for (r,) in when] == ["received_at outside the object's dt partition (beyond the clock tolerance)"] * 2
    parts = q(settings, "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'dw.events'::regclass")
    assert parts == [("dw.events_2024_03",)]  # not 1,561 months from 1970 to 2100
    assert one(settings, "SELECT received_source FROM dw.loaded_files WHERE key = %s", k_old) == "lines"

    assert out["accounting_mismatches"] == 1 and out["mismatches"][0]["key"] == k_lie
    assert metrics.document(out, function_name="etl")["AccountingMismatches"] == 1
    assert_nothing_lost(settings, ids(t_evs[:n], w_evs, l_evs, o_evs), mismatched=frozenset({k_lie}))
    with reader(pg_server, settings) as c:  # the Data health page's view of all this
        assert c.execute("SELECT key, received, unaccounted FROM dw.v_accounting_mismatches").fetchall() == [
            (k_lie, 10, 2)]
        day = c.execute("SELECT received, events_loaded, duplicates, rejected, unaccounted, mismatched_files, "
                        "unreadable_files FROM dw.v_load_identity_daily WHERE dt = %s", (RECEIVED.date(),)).fetchone()
        assert day == (50 + 5 + 10 + 4, n + 3 + 8 + 4, 0, (50 - n) + 2, 2, 1, 6)
        assert {k for (k,) in c.execute("SELECT key FROM dw.v_unreadable_objects")} == failed
        reasons = dict(c.execute("SELECT reason, sum(rejected) FROM dw.v_rejects_by_reason GROUP BY reason"))
        assert reasons["truncated gzip stream"] == 50 - n
