"""End to end: generated traffic in the emulator's S3 -> ETL -> real PostgreSQL.

The generator returns the exact aggregates it produced (duplicates, late events across a
month boundary, ingest rejects, malformed lines, bots, reloaded thank-you pages); the
warehouse must agree with them, and stay unchanged under reruns and replays.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta

import boto3
import orjson
import psycopg
import pytest
from etl.config import Settings
from etl.runner import replay_day, run

from clickstream import REPO_ROOT
from clickstream.traffic import TrafficConfig, generate, write_to_s3
from clickstream.warehouse import migrate

pytestmark = pytest.mark.e2e

BUCKET = "etl-load-raw"
# Crosses the June/July boundary; late events arrive 1-4 days after they happened.
CFG = TrafficConfig(seed=7, events=4_000, start=date(2024, 6, 29), days=3, events_per_object=25,
                    duplicate_rate=0.01, late_rate=0.01, malformed_rate=0.002)
TODAY = date(2024, 7, 8)


@pytest.fixture(scope="module")
def loaded(emulator, pg_dsn):
    migrate(pg_dsn)
    s3 = boto3.client("s3", endpoint_url=emulator.endpoint_url)
    s3.create_bucket(Bucket=BUCKET)
    objects, truth = generate(CFG)
    write_to_s3(objects, BUCKET, s3)
    # Worker processes for the first load (the benchmark's path); reruns and replays of
    # a few objects take the thread path.
    settings = Settings(raw_bucket=BUCKET, dw_dsn=pg_dsn, parse_processes=2, process_min_objects=50)
    summary = run(settings, today=TODAY)
    return {"truth": truth, "summary": summary, "settings": settings, "objects": objects,
            "dsn": pg_dsn}


def q(dsn: str, sql: str, *args):
    with psycopg.connect(dsn) as c:
        return c.execute(sql, args).fetchall()


def snapshot(dsn: str) -> dict:
    tables = ["events", "event_ids", "purchases", "rejected_events", "sessions", "products",
              "daily_overview", "daily_funnel", "product_daily", "hourly_traffic",
              "daily_acquisition"]
    out = {t: q(dsn, f"SELECT count(*) FROM dw.{t}")[0][0] for t in tables}
    out["revenue"] = q(dsn, "SELECT sum(revenue) FROM dw.daily_overview")[0][0]
    out["session_events"] = q(dsn, "SELECT sum(event_count) FROM dw.sessions")[0][0]
    out["funnel"] = q(dsn, "SELECT sum(purchase), sum(add_to_cart) FROM dw.daily_funnel")[0]
    return out


def test_accepted_plus_rejected_equals_sent(loaded):
    t, s, dsn = loaded["truth"], loaded["summary"], loaded["dsn"]
    events = q(dsn, "SELECT count(*) FROM dw.events")[0][0]
    rejected = q(dsn, "SELECT count(*) FROM dw.rejected_events")[0][0]
    assert events == t.unique_events
    assert rejected == t.malformed_lines + t.ingest_rejects > 0
    # Every line sent is either a unique event, a duplicate delivery or a reject.
    assert events + t.duplicate_deliveries + rejected == t.lines_sent
    assert s["events_loaded"] == events and s["rejected"] == rejected
    assert s["files_loaded"] == t.objects + t.rejected_objects and s["files_failed"] == 0
    assert s["remaining"] == 0 and not s["stopped_early"]


def test_duplicate_deliveries_leave_no_duplicates(loaded):
    t, s, dsn = loaded["truth"], loaded["summary"], loaded["dsn"]
    assert t.duplicate_deliveries > 0
    assert s["duplicates"] == t.duplicate_deliveries
    total, distinct = q(dsn, "SELECT count(*), count(DISTINCT event_id) FROM dw.events")[0]
    assert total == distinct == q(dsn, "SELECT count(*) FROM dw.event_ids")[0][0]


def test_purchases_deduplicated_by_transaction(loaded):
    t, dsn = loaded["truth"], loaded["dsn"]
    n, revenue = q(dsn, "SELECT count(*), sum(value) FROM dw.purchases")[0]
    purchase_events = q(dsn, "SELECT count(*) FROM dw.events WHERE event_name = 'purchase'")[0][0]
    assert n == t.purchases > 0
    assert purchase_events > n  # reloaded thank-you pages are events, not extra orders
    assert float(revenue) == pytest.approx(t.revenue, abs=0.01)


def test_rollups_match_generated_truth(loaded):
    t, dsn = loaded["truth"], loaded["dsn"]
    rows = q(dsn, "SELECT day::text, events, purchases, revenue FROM dw.daily_overview ORDER BY day")
    assert {d: e for d, e, _, _ in rows} == t.events_by_day
    assert {d: p for d, _, p, _ in rows if p} == t.purchases_by_day
    for d, _, _, rev in rows:
        assert float(rev) == pytest.approx(t.revenue_by_day.get(d, 0.0), abs=0.01)
    sessions = q(dsn, "SELECT count(*) FROM dw.sessions WHERE NOT is_bot")[0][0]
    assert sessions == t.sessions
    assert q(dsn, "SELECT count(*) FROM dw.events WHERE is_bot")[0][0] == t.bot_events
    hourly = q(dsn, "SELECT sum(purchases), sum(revenue) FROM dw.hourly_traffic")[0]
    assert hourly[0] == t.purchases and float(hourly[1]) == pytest.approx(t.revenue, abs=0.01)
    funnel = q(dsn, "SELECT sum(sessions), sum(purchase) FROM dw.daily_funnel "
                    "WHERE item_category = '(all)'")[0]
    assert funnel[1] >= t.purchases * 0.9  # sessions with a purchase (a few span midnight)
    assert q(dsn, "SELECT count(*) FROM dw.dirty_days")[0][0] == 0


def test_late_events_land_in_their_month_partition_and_day(loaded):
    t, dsn = loaded["truth"], loaded["dsn"]
    assert t.late_events > 0
    rows = q(dsn, """
        SELECT e.tableoid::regclass::text, to_char(e.event_ts AT TIME ZONE 'UTC', 'YYYY_MM'),
               f.dt, (e.event_ts AT TIME ZONE 'UTC')::date
          FROM dw.events e JOIN dw.loaded_files f USING (file_id)
         WHERE e.event_id = ANY(%s::uuid[])""", t.late_event_ids)
    assert len(rows) == len(t.late_event_ids)
    assert all(part == f"dw.events_{month}" for part, month, _, _ in rows)
    assert all(dt > day for _, _, dt, day in rows), "late events arrive on a later dt"
    parts = {r[0] for r in q(dsn, "SELECT tableoid::regclass::text FROM dw.events")}
    assert parts == {"dw.events_2024_06", "dw.events_2024_07"}


def test_rerun_loads_nothing(loaded):
    before = snapshot(loaded["dsn"])
    again = run(loaded["settings"], today=TODAY)
    assert again["files_loaded"] == 0 and again["events_loaded"] == 0
    assert snapshot(loaded["dsn"]) == before


def test_replay_of_every_day_loads_zero_rows(loaded):
    dsn = loaded["dsn"]
    before = snapshot(dsn)
    days = sorted(q(dsn, "SELECT DISTINCT dt FROM dw.loaded_files"))
    assert len(days) >= 4  # three traffic days plus late arrivals
    replayed = 0
    for (day,) in days:
        out = replay_day(loaded["settings"], day)
        assert out["events_loaded"] == 0 and out["rejected"] == 0 and out["files_failed"] == 0
        replayed += out["files_loaded"]
    assert replayed == len(loaded["objects"])
    assert snapshot(dsn) == before
    assert q(dsn, "SELECT min(replays) FROM dw.loaded_files")[0][0] >= 1
    # Manifest counts keep describing the first load, not the replay.
    assert q(dsn, "SELECT sum(events_loaded) FROM dw.loaded_files")[0][0] == before["events"]


def test_replay_cli(loaded):
    dsn = loaded["dsn"]
    day = q(dsn, "SELECT min(dt) FROM dw.loaded_files")[0][0]
    env = {**os.environ, "RAW_BUCKET": BUCKET, "DW_DSN": dsn,
           "PYTHONPATH": str(REPO_ROOT / "lambda_src")}
    proc = subprocess.run([sys.executable, "-m", "etl.replay", "--date", day.isoformat()],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["files_loaded"] > 0 and out["events_loaded"] == 0
    bad = subprocess.run([sys.executable, "-m", "etl.replay", "--date", (day + timedelta(1)).isoformat()],
                         env={**env, "DW_DSN": "postgresql://nobody@127.0.0.1:1/x"},
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "cannot connect to the warehouse" in bad.stderr


def test_reader_role_reads_rollups_not_facts(loaded, pg_server):
    dsn = loaded["dsn"]
    dbname = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    # The login a host's dashboards use: made by the superuser, a member of dw_reader only.
    with psycopg.connect(pg_server.reader_dsn(dbname)) as c:
        assert c.execute("SELECT current_user").fetchone()[0] != "dw_reader"
        assert c.execute("SELECT count(*) FROM dw.daily_overview").fetchone()[0] > 0
        assert c.execute("SELECT count(*) FROM dw.v_load_health_daily").fetchone()[0] > 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("SELECT count(*) FROM dw.events")
    attrs = q(dsn, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'dw_reader'")
    assert attrs == [(False,)]


def test_migrations_are_rerunnable(loaded):
    assert migrate(loaded["dsn"]) == []


def test_refresh_day_matches_the_reference(loaded):
    """dw.refresh_day (sql/dw/definitions) gives exactly the rollup rows of the committed plain
    implementation (tests/e2e/reference) on a whole loaded warehouse."""
    reference = (REPO_ROOT / "tests" / "e2e" / "reference" / "refresh_day_reference.sql").read_text()
    tables = ["daily_overview", "daily_funnel", "product_daily", "hourly_traffic",
              "daily_acquisition", "daily_device_overview"]
    with psycopg.connect(loaded["dsn"]) as c:
        days = [r[0] for r in c.execute(
            "SELECT DISTINCT (event_ts AT TIME ZONE 'UTC')::date FROM dw.events ORDER BY 1")]
        assert "work_mem" in c.execute(
            "SELECT array_to_string(proconfig, ',') FROM pg_proc WHERE oid = 'dw.refresh_day'::regproc"
        ).fetchone()[0]

        def rollups(function: str) -> dict:
            for d in days:
                c.execute(f"SELECT {function}(%s)", (d,))
            return {t: sorted(c.execute(f"SELECT * FROM dw.{t}").fetchall()) for t in tables}

        current = rollups("dw.refresh_day")
        c.execute(reference)  # rolled back below with everything it wrote
        assert rollups("reference.refresh_day") == current
        assert all(current[t] for t in tables)
        c.rollback()


# == first delivery wins ======================================================================
FIRST_BUCKET = "etl-load-first"
FIRST_DAY = date(2024, 3, 5)


def _delivery(s3, prefix: str, received_s: int, events: list[dict]) -> str:
    """One object as ingest writes it, received ``received_s`` seconds into FIRST_DAY."""
    ms = int(datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, tzinfo=UTC).timestamp()) * 1000
    ms += received_s * 1000
    rec = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    key = f"{prefix}dt={FIRST_DAY}/hr={received_s // 3600:02d}/{ms}-{uuid.uuid4()}.jsonl.gz"
    body = b"".join(orjson.dumps({"app_id": "shop-web", "received_at": rec, "request_id": str(uuid.uuid4()),
                                  "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/127.0", **e}) + b"\n"
                    for e in events)
    s3.put_object(Bucket=FIRST_BUCKET, Key=key, Body=gzip.compress(body))
    return key


@pytest.mark.parametrize("same_run", [False, True], ids=["later-run", "same-batch"])
def test_a_redelivered_id_with_other_content_contributes_nothing_of_itself(emulator, pg_server, same_run):
    """The first delivery of an event id wins: a later object holding the same id with another
    session, time, name and items adds no row, session, purchase, product or day of it, whether
    the warehouse already has the id (a later run) or an earlier object of the same batch does;
    the later object's own new event (in the session the redelivered one claims) still loads,
    and its counts say one duplicate."""
    s3 = boto3.client("s3", endpoint_url=emulator.endpoint_url)
    s3.create_bucket(Bucket=FIRST_BUCKET)
    name = f"etl_first_{uuid.uuid4().hex[:10]}"
    dsn = pg_server.create_database(name)
    migrate(dsn)
    prefix = f"t{uuid.uuid4().hex[:8]}/events/v1/"
    settings = Settings(raw_bucket=FIRST_BUCKET, raw_prefix=prefix, dw_dsn=dsn)
    today = FIRST_DAY + timedelta(days=1)
    shared = str(uuid.uuid4())
    first = {"event_id": shared, "event_name": "view_item", "event_ts": "2024-03-05T10:00:00.000Z",
             "anonymous_id": "anon-1", "session_id": "s-first", "page": {"url": "https://shop/a", "path": "/a"},
             "items": [{"item_id": "SKU-FIRST", "price": 10.0}]}
    other = {**first, "event_name": "purchase", "event_ts": "2024-03-04T23:00:00.000Z", "session_id": "s-other",
             "anonymous_id": "anon-2", "value": 99.0, "transaction_id": "T-OTHER", "currency": "EUR",
             "page": {"url": "https://shop/other", "path": "/other"},
             "items": [{"item_id": "SKU-OTHER", "price": 99.0, "quantity": 1}]}
    # a new event of the session the redelivered one claims: that session gets only this one
    fresh = {**first, "event_id": str(uuid.uuid4()), "event_ts": "2024-03-05T11:00:00.000Z",
             "session_id": "s-other", "anonymous_id": "anon-2", "items": None}
    try:
        key_a = _delivery(s3, prefix, 36_000, [first])
        if not same_run:
            run(settings, today=today)
        key_b = _delivery(s3, prefix, 39_600, [other, fresh])
        run(settings, today=today)
        assert q(dsn, "SELECT event_name, session_id, event_ts, f.key FROM dw.events e "
                      "JOIN dw.loaded_files f USING (file_id) WHERE event_id = %s", shared) == [
            ("view_item", "s-first", datetime(2024, 3, 5, 10, tzinfo=UTC), key_a)]
        assert q(dsn, "SELECT session_id, event_count, started_at, landing_path FROM dw.sessions ORDER BY 1") == [
            ("s-first", 1, datetime(2024, 3, 5, 10, tzinfo=UTC), "/a"),
            ("s-other", 1, datetime(2024, 3, 5, 11, tzinfo=UTC), "/a")]
        assert q(dsn, "SELECT count(*) FROM dw.purchases")[0][0] == 0
        assert q(dsn, "SELECT item_id, first_seen, last_seen FROM dw.products") == [
            ("SKU-FIRST", datetime(2024, 3, 5, 10, tzinfo=UTC), datetime(2024, 3, 5, 10, tzinfo=UTC))]
        assert q(dsn, "SELECT count(*) FROM dw.events WHERE event_ts < '2024-03-05'")[0][0] == 0
        assert q(dsn, "SELECT key, events_loaded, duplicates, unaccounted FROM dw.loaded_files ORDER BY key") == [
            (key_a, 1, 0, 0), (key_b, 1, 1, 0)]
        assert q(dsn, "SELECT sum(events) FROM dw.daily_overview")[0][0] == 2
        assert q(dsn, "SELECT min(day) FROM dw.daily_overview")[0][0] == FIRST_DAY
    finally:
        pg_server.drop_database(name)
