"""End to end through the buffer: requests of 1-25 events -> ingest (queue mode) -> the SQS
poller and the batcher's built zip -> the real ETL -> PostgreSQL.

Every accepted event must be loaded exactly once, every object accounted
(received = loaded + duplicates + rejected), a garbled message must end in the dead-letter
queue without costing the valid ones, and a redelivered batch must add no rows.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import orjson
import psycopg
import pytest
from etl.config import Settings as EtlSettings
from etl.runner import run
from ingest.app import IngestApp
from ingest.settings import Settings as IngestSettings

from clickstream.build import build_lambda
from clickstream.sqs_batcher import SqsBatcherPoller, local_runner
from clickstream.warehouse import migrate

pytestmark = pytest.mark.e2e

BUCKET, QUEUE, DLQ = "lake-buffer-raw", "lake-buffer", "lake-buffer-dlq"
APP_ID = "shop-web"
START = datetime(2024, 6, 3, 11, 40, 0, tzinfo=UTC)  # the run crosses 12:00: two hour partitions
REQUESTS = 240
TODAY = date(2024, 6, 4)


def _event(i: int, ts: datetime) -> dict[str, Any]:
    name = ("page_view", "view_item", "add_to_cart")[i % 3]
    ev: dict[str, Any] = {
        "event_id": str(uuid.UUID(int=i + 1)), "event_name": name,
        "event_ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "anonymous_id": f"anon-{i % 17}", "session_id": f"sess-{i % 17}",
        "page": {"url": "https://shop.example/p", "path": "/p", "title": "P", "referrer": ""}}
    if name != "page_view":
        ev["items"] = [{"item_id": f"SKU-{i % 5}", "item_name": "Laptop", "item_brand": "Acme",
                        "item_category": "laptops", "price": 999.0, "quantity": 1}]
    return ev


def _request(events: list[Any], rid: str) -> dict[str, Any]:
    body = {"app_id": APP_ID, "sent_at": "2024-06-03T11:40:00Z", "events": events}
    return {"version": "2.0", "rawPath": "/v1/events", "headers": {"content-type": "application/json"},
            "requestContext": {"requestId": rid, "stage": "$default",
                               "http": {"method": "POST", "path": "/v1/events", "sourceIp": "203.0.113.9",
                                        "userAgent": "Mozilla/5.0 e2e"}},
            "body": orjson.dumps(body).decode(), "isBase64Encoded": False}


class RecordingRunner:
    """The batcher runner, keeping every event it was invoked with (to hand a batch over again)."""

    def __init__(self, runner) -> None:
        self.runner, self.events = runner, []
        self.config = runner.config

    def invoke(self, event: Any) -> Any:
        self.events.append(event)
        return self.runner.invoke(event)


def q(dsn: str, sql: str, *args):
    with psycopg.connect(dsn) as c:
        return c.execute(sql, args).fetchall()


@pytest.fixture(scope="module")
def platform(emulator, pg_dsn, tmp_path_factory):  # noqa: ARG001 - boto3 points at the emulator
    migrate(pg_dsn)
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    s3.create_bucket(Bucket=BUCKET)
    dlq = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName=QUEUE, Attributes={
        "RedrivePolicy": orjson.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}).decode()})["QueueUrl"]
    zip_path, _ = build_lambda("batcher", tmp_path_factory.mktemp("zips"))
    runner = local_runner(zip_path, {"RAW_BUCKET": BUCKET})
    now = [START]
    app = IngestApp(IngestSettings(raw_bucket=BUCKET, allowed_app_ids=frozenset({APP_ID}), buffer_queue_url=queue),
                    s3, sqs_client=sqs, clock=lambda: now[0])
    accepted: set[str] = set()
    sent_lines = rejected = 0
    n = 0
    for r in range(REQUESTS):
        now[0] = START + timedelta(seconds=r * 12)
        size = 1 + (r * 7) % 25
        events: list[Any] = [_event(n + j, now[0] - timedelta(seconds=3)) for j in range(size)]
        n += size
        if r % 10 == 3:
            events.append({"event_id": "not-a-uuid"})  # one reject in a tenth of the requests
        if r % 20 == 5 and accepted:
            events.append(_event(int(uuid.UUID(min(accepted))) - 1, now[0]))  # a client resend
        resp = app.handle(_request(events, f"req-{r}"))
        assert resp["statusCode"] == 200, resp
        body = orjson.loads(resp["body"])
        rejected += len(body["rejected"])
        sent_lines += len(events)
        accepted |= {e["event_id"] for e in events if isinstance(e, dict) and e["event_id"] != "not-a-uuid"}
    # A garbled message among the valid ones: it must not cost them, and must reach the DLQ.
    sqs.send_message(QueueUrl=queue, MessageBody="not base64 gzip",
                     MessageAttributes={"kind": {"DataType": "String", "StringValue": "events"}})
    recording = RecordingRunner(runner)
    poller = SqsBatcherPoller(recording, queue, sqs=sqs, batch_size=1_000, release_failed=True)
    polls = poller.drain() + poller.drain()  # the second drain retries the garbled one once more
    poller.drain()  # a third receive moves it past maxReceiveCount into the DLQ
    settings = EtlSettings(raw_bucket=BUCKET, dw_dsn=pg_dsn, parse_processes=0)
    summary = run(settings, today=TODAY)
    yield {"dsn": pg_dsn, "accepted": accepted, "rejected": rejected, "sent": sent_lines, "summary": summary,
           "polls": polls, "recording": recording, "settings": settings, "sqs": sqs, "queue": queue, "dlq": dlq,
           "runner": runner}
    runner.close()


def test_every_accepted_event_is_loaded_exactly_once(platform):
    dsn = platform["dsn"]
    ids = {r[0] for r in q(dsn, "SELECT event_id::text FROM dw.events")}
    assert ids == platform["accepted"]
    assert q(dsn, "SELECT count(*) FROM dw.rejected_events")[0][0] == platform["rejected"] > 0
    s = platform["summary"]
    assert s["events_loaded"] == len(platform["accepted"]) and s["files_failed"] == 0
    assert s["accounting_mismatches"] == 0
    assert s["events_loaded"] + s["duplicates"] + s["rejected"] == platform["sent"]


def test_objects_hold_whole_batches_not_requests(platform):
    rows = q(platform["dsn"], "SELECT kind, received, events_loaded + duplicates + rejected FROM dw.loaded_files")
    assert all(received == total for _, received, total in rows)
    events_objects = [r for r in rows if r[0] == "events"]
    # 240 requests in two hour partitions: one object per partition and batch.
    assert len(events_objects) <= 2 * len(platform["polls"])
    assert sum(r[1] for r in events_objects) / len(events_objects) > 100


def test_a_garbled_message_ends_in_the_dead_letter_queue(platform):
    sqs = platform["sqs"]
    msgs = sqs.receive_message(QueueUrl=platform["dlq"], MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in msgs] == ["not base64 gzip"]
    left = sqs.get_queue_attributes(QueueUrl=platform["queue"], AttributeNames=["ApproximateNumberOfMessages",
                                                                                "ApproximateNumberOfMessagesNotVisible"])
    assert {v for v in left["Attributes"].values()} == {"0"}


def test_a_batch_handed_over_again_adds_no_rows(platform):
    dsn, rec = platform["dsn"], platform["recording"]
    before = q(dsn, "SELECT (SELECT count(*) FROM dw.events), (SELECT count(*) FROM dw.rejected_events), "
                    "(SELECT count(*) FROM dw.loaded_files)")[0]
    first = {"Records": [r for r in rec.events[0]["Records"] if r["body"] != "not base64 gzip"]}
    answer = platform["runner"].invoke(first)  # the same batch: the same keys, equal bytes
    assert answer == {"batchItemFailures": []}
    again = run(platform["settings"], today=TODAY)
    assert again["files_loaded"] == 0 and again["events_loaded"] == 0
    # Part of it in another batch (SQS redelivering messages after a lost answer): a new
    # object whose events are all duplicates, accounted as such.
    events_only = [r for r in first["Records"] if r["messageAttributes"]["kind"]["stringValue"] == "events"]
    assert platform["runner"].invoke({"Records": events_only[: len(events_only) // 2]}) == {"batchItemFailures": []}
    third = run(platform["settings"], today=TODAY)
    assert third["files_loaded"] >= 1 and third["events_loaded"] == 0 and third["duplicates"] > 0
    assert third["accounting_mismatches"] == 0
    after = q(dsn, "SELECT (SELECT count(*) FROM dw.events), (SELECT count(*) FROM dw.rejected_events), "
                   "(SELECT count(*) FROM dw.loaded_files)")[0]
    assert after[:2] == before[:2] and after[2] == before[2] + third["files_loaded"]


def test_a_reject_redelivered_in_another_batch_is_stored_once_more(platform):
    """What happens, written down: rejects are keyed by (object, line) in dw.rejected_events, so
    a reject message that lands in a second object is a second row (as a client's retry is today)."""
    dsn, first = platform["dsn"], platform["recording"].events[0]
    rejects = [r for r in first["Records"] if r["messageAttributes"]["kind"]["stringValue"] == "rejected"]
    assert rejects, "the first batch holds reject messages"
    before = q(dsn, "SELECT count(*) FROM dw.rejected_events")[0][0]
    assert platform["runner"].invoke({"Records": rejects[:1]}) == {"batchItemFailures": []}
    s = run(platform["settings"], today=TODAY)
    assert s["rejected"] == 1 and s["accounting_mismatches"] == 0
    assert q(dsn, "SELECT count(*) FROM dw.rejected_events")[0][0] == before + 1
