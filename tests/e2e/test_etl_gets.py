"""The ETL's GETs: one kept-alive connection per GET in flight, a bound on GETs in flight, and a
failed GET among many still failing only its own object.

Against the emulator through :class:`clickstream.s3proxy.S3Proxy`, which counts the client
connections it accepts and the requests it holds at once; a delay per request makes GETs
overlap, so the bound on requests in flight is what is actually measured, not sequential
fetching that would satisfy any bound. The ETL's own clients are pointed at the proxy the
way the Lambda's are at S3: through ``AWS_ENDPOINT_URL`` (boto3's standard configuration).
"""

from __future__ import annotations

import dataclasses
import gzip
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import boto3
import orjson
import psycopg
import pytest
from etl.config import Settings
from etl.runner import run

from clickstream.s3proxy import S3Proxy
from clickstream.warehouse import migrate

pytestmark = pytest.mark.e2e

BUCKET = "etl-gets-raw"
RECEIVED = datetime(2024, 3, 5, 10, 30, tzinfo=UTC)
TODAY = date(2024, 3, 6)


def body(n: int) -> tuple[set[str], bytes]:
    """``n`` valid enriched page views as one ingest object: their ids and the gzip body."""
    rec = RECEIVED.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    evs = [{"event_id": str(uuid.uuid4()), "event_name": "page_view", "event_ts": rec,
            "anonymous_id": "anon-1", "session_id": f"s-{uuid.uuid4()}",
            "page": {"url": "https://shop.example.com/", "path": "/", "title": "Home"},
            "app_id": "shop-web", "sent_at": rec, "received_at": rec, "request_id": str(uuid.uuid4()),
            "ip_anon": "203.0.113.0", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/127.0"}
           for _ in range(n)]
    return {e["event_id"] for e in evs}, gzip.compress(b"\n".join(orjson.dumps(e) for e in evs) + b"\n")


def put_objects(s3, prefix: str, count: int, events: int = 3) -> tuple[list[str], dict[str, set[str]]]:
    """``count`` objects of ``events`` events each, as ingest writes them; keys and ids by key."""
    ms = int(RECEIVED.timestamp() * 1000)
    keys, ids = [], {}
    for i in range(count):
        key = f"{prefix}dt={RECEIVED:%Y-%m-%d}/hr={RECEIVED:%H}/{ms + i}-{uuid.uuid4()}.jsonl.gz"
        ids[key], data = body(events)
        s3.put_object(Bucket=BUCKET, Key=key, Body=data, Metadata={
            "events": str(events), "rejected": "0", "event-count": str(events)})
        keys.append(key)
    return keys, ids


@pytest.fixture(scope="module")
def s3(emulator):
    client = boto3.client("s3", endpoint_url=emulator.endpoint_url)
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture(scope="module")
def proxy(emulator) -> Iterator[S3Proxy]:
    with S3Proxy(emulator.endpoint_url, hold_s=3, max_connections=64) as p:
        yield p


@pytest.fixture
def via_proxy(proxy: S3Proxy, monkeypatch) -> Iterator[S3Proxy]:
    """Every ETL client (the run's and its worker processes') through the proxy, counters at zero."""
    proxy.clear()
    proxy.latency_s = 0.0
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    proxy.reset_stats()
    yield proxy
    proxy.clear()
    proxy.latency_s = 0.0


@pytest.fixture
def warehouse(pg_server, s3) -> Iterator[Settings]:  # noqa: ARG001 - s3 creates the bucket
    """A fresh migrated database and a private key prefix per test."""
    name = f"etlg_{uuid.uuid4().hex[:12]}"
    dsn = pg_server.create_database(name)
    migrate(dsn)
    yield Settings(raw_bucket=BUCKET, raw_prefix=f"g{uuid.uuid4().hex[:8]}/events/v1/", dw_dsn=dsn,
                   process_min_objects=0, retry_base_s=1, retry_max_s=1)
    pg_server.drop_database(name)


def loaded_ids(settings: Settings) -> list[str]:
    with psycopg.connect(settings.dw_dsn) as c:
        return [r[0] for r in c.execute("SELECT event_id::text FROM dw.events").fetchall()]


@pytest.mark.parametrize("processes", [1, 0], ids=["worker-process", "threads"])
def test_gets_reuse_their_connections(s3, warehouse, via_proxy, processes):
    """60 objects, 60 GETs: a handful of connections (one per GET in flight at most), not 60."""
    keys, ids = put_objects(s3, warehouse.raw_prefix, 60)
    settings = dataclasses.replace(warehouse, parse_processes=processes, gets_in_flight=4, workers=4)
    out = run(settings, today=TODAY)
    assert (out["files_loaded"], out["events_loaded"]) == (60, 180)
    assert sorted(loaded_ids(settings)) == sorted(i for k in keys for i in ids[k])
    stats = via_proxy.stats()
    assert all(via_proxy.gets(k) == 1 for k in keys)
    assert stats.requests >= 60
    # Its GET clients' connections (4 in flight) and the run's own for listing.
    assert stats.connections <= 4 + 1, stats


@pytest.mark.parametrize(("processes", "bound"), [(1, 3), (2, 6), (0, 3)],
                         ids=["one-worker", "two-workers", "threads"])
def test_gets_in_flight_are_bounded_and_do_overlap(s3, warehouse, via_proxy, processes, bound):
    """With 50 ms per request the GETs pile up to the bound (3 per worker process, or 3
    threads) and never past it; a fetcher that GETs one at a time would stay at 1."""
    put_objects(s3, warehouse.raw_prefix, 40, events=1)
    via_proxy.latency_s = 0.05
    settings = dataclasses.replace(warehouse, parse_processes=processes, gets_in_flight=3, workers=3)
    out = run(settings, today=TODAY)
    assert out["files_loaded"] == 40
    peak = via_proxy.stats().peak_in_flight
    assert 2 <= peak <= bound


@pytest.mark.parametrize("fault", [
    pytest.param({"mode": "status", "status": 503, "code": "SlowDown"}, id="throttled"),
    pytest.param({"mode": "reset"}, id="connection-reset"),
])
def test_a_failed_get_among_many_in_flight_fails_only_its_object(s3, warehouse, via_proxy, fault):
    """The object whose GET fails is recorded as a transient failure and loads on a later run;
    the others, fetched beside it on the same pooled connections, load whole the first time."""
    keys, ids = put_objects(s3, warehouse.raw_prefix, 30)
    bad = keys[11]
    via_proxy.fail(key=bad, **fault)
    settings = dataclasses.replace(warehouse, parse_processes=1, gets_in_flight=4)
    out = run(settings, today=TODAY)
    assert (out["files_loaded"], out["events_loaded"], out["files_retrying"], out["accounting_mismatches"]) \
        == (29, 87, 1, 0)
    assert [f["key"] for f in out["failures"]] == [bad]
    assert sorted(loaded_ids(settings)) == sorted(i for k in keys if k != bad for i in ids[k])
    with psycopg.connect(settings.dw_dsn) as c:
        assert c.execute("SELECT status, failure FROM dw.loaded_files WHERE key = %s",
                         (bad,)).fetchone() == ("failed", "transient")
    via_proxy.clear()
    time.sleep(1.1)  # due again (retry_base_s = 1)
    again = run(settings, today=TODAY)
    assert (again["files_loaded"], again["events_loaded"], again["unreadable_objects"]) == (1, 3, 0)
    assert sorted(loaded_ids(settings)) == sorted(i for k in keys for i in ids[k])
    with psycopg.connect(settings.dw_dsn) as c:
        assert c.execute("SELECT count(*) FROM dw.loaded_files WHERE status = 'loaded' AND unaccounted <> 0"
                         ).fetchone()[0] == 0
