"""Ingest with ``BUFFER_QUEUE_URL``: deliveries go to SQS, oversized ones to S3, failures are 503.

Against the emulator's SQS and S3. The message must carry exactly the lines a direct PUT
would have stored (the batcher concatenates them into the lake unchanged) and the counts
the object metadata carries today.
"""

from __future__ import annotations

import base64
import gzip
import os
from typing import Any

import boto3
import orjson
import pytest
from common import buffer, lake
from ingest.app import IngestApp
from ingest.settings import ConfigError, Settings
from ingest_helpers import APP_ID, FIXED_NOW, api_event, envelope, list_objects, make_event

pytestmark = pytest.mark.unit


@pytest.fixture
def queue(bucket: str) -> str:  # noqa: ARG001 - made after the bucket fixture's emulator reset
    return boto3.client("sqs").create_queue(QueueName="ingest-buffer-test")["QueueUrl"]


def _app(bucket: str, queue_url: str, sqs: Any = None, **overrides: Any) -> IngestApp:
    settings = Settings(raw_bucket=bucket, allowed_app_ids=frozenset({APP_ID}), buffer_queue_url=queue_url,
                        **overrides)
    return IngestApp(settings, boto3.client("s3"), sqs_client=sqs or boto3.client("sqs"), clock=lambda: FIXED_NOW)


def _drain(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    out: list[dict[str, Any]] = []
    while True:
        msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                   VisibilityTimeout=60).get("Messages", [])
        if not msgs:
            return out
        out += msgs


def _attr(msg: dict[str, Any], name: str) -> str:
    return msg["MessageAttributes"][name]["StringValue"]


def _lines(msg: dict[str, Any]) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in gzip.decompress(base64.b64decode(msg["Body"])).splitlines()]


def test_a_mixed_request_is_one_message_per_kind_and_no_object(bucket, queue):
    good = [make_event(), make_event("view_item"), make_event("search")]
    events = [good[0], make_event(event_name="teleport"), good[1], "not an event", good[2]]
    resp = _app(bucket, queue).handle(api_event(envelope(events)))
    assert resp["statusCode"] == 200
    assert orjson.loads(resp["body"])["accepted"] == 3
    assert list_objects(bucket) == []
    msgs = {_attr(m, buffer.KIND): m for m in _drain(queue)}
    assert sorted(msgs) == ["events", "rejected"]
    ev, rej = msgs["events"], msgs["rejected"]
    assert _attr(ev, buffer.COUNT) == "3" and _attr(rej, buffer.COUNT) == "2"
    assert _attr(ev, buffer.RECEIVED_MS) == str(lake.received_ms(FIXED_NOW)) == _attr(rej, buffer.RECEIVED_MS)
    assert _attr(ev, buffer.SCHEMA_ATTR) == "events.v1"
    lines = _lines(ev)
    assert [x["event_id"] for x in lines] == [e["event_id"] for e in good]
    assert {x["received_at"] for x in lines} == {"2026-11-22T04:31:00.123Z"}
    assert [(r["index"], r["payload"]) for r in _lines(rej)] == [(1, events[1]), (3, "not an event")]


def test_the_message_holds_the_bytes_a_direct_put_would_store(bucket, queue):
    events = [make_event(), make_event("add_to_cart")]
    request = api_event(envelope(events))
    assert _app(bucket, queue).handle(request)["statusCode"] == 200
    direct = IngestApp(Settings(raw_bucket=bucket, allowed_app_ids=frozenset({APP_ID})), boto3.client("s3"),
                       clock=lambda: FIXED_NOW)
    assert direct.handle(request)["statusCode"] == 200
    (key,) = list_objects(bucket)
    stored = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    (msg,) = _drain(queue)
    assert base64.b64decode(msg["Body"]) == stored


def test_a_delivery_over_the_message_limit_is_put_directly_with_its_metadata(bucket, queue):
    small, big = [make_event()], [make_event(page={"url": "https://shop.example/" + os.urandom(700).hex(), "path": "/",
                                                   "title": f"t{i}", "referrer": ""}) for i in range(6)]
    app = _app(bucket, queue, buffer_max_message_bytes=1024)
    assert app.handle(api_event(envelope(small)))["statusCode"] == 200
    assert app.handle(api_event(envelope(big)))["statusCode"] == 200
    (msg,) = _drain(queue)
    assert _attr(msg, buffer.COUNT) == "1"
    (key,) = list_objects(bucket)
    obj = boto3.client("s3").get_object(Bucket=bucket, Key=key)
    assert obj["Metadata"]["events"] == "6"
    assert len(gzip.decompress(obj["Body"].read()).splitlines()) == 6


def test_message_size_counts_the_attributes_as_sqs_does():
    attrs = buffer.attributes("events", 25, 1_700_000_000_000)
    body = buffer.encode_body(b"x" * 300)
    expected = len(body) + sum(len(n) + len(v["DataType"]) + len(v["StringValue"]) for n, v in attrs.items())
    assert buffer.message_size(body, attrs) == expected > len(body)


def test_a_queue_that_refuses_is_a_503_with_nothing_stored(bucket, queue):
    missing = queue.rsplit("/", 1)[0] + "/no-such-queue"
    resp = _app(bucket, missing).handle(api_event(envelope([make_event(), make_event(event_name="x")])))
    assert resp["statusCode"] == 503
    assert "accepted" not in orjson.loads(resp["body"])
    assert list_objects(bucket) == [] and _drain(queue) == []


class _PartlyFailingSqs:
    """SendMessageBatch that takes the first entry and refuses the second."""

    def __init__(self) -> None:
        self.calls = 0

    def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        first, second = kwargs["Entries"]
        return {"Successful": [{"Id": first["Id"], "MessageId": "m-1"}],
                "Failed": [{"Id": second["Id"], "SenderFault": False, "Code": "InternalError"}]}


def test_a_partly_refused_batch_is_a_503_not_a_half_accepted_request(bucket, queue):
    sqs = _PartlyFailingSqs()
    resp = _app(bucket, queue, sqs=sqs).handle(api_event(envelope([make_event(), make_event(event_name="x")])))
    assert sqs.calls == 1
    assert resp["statusCode"] == 503 and "accepted" not in orjson.loads(resp["body"])


def test_settings_read_the_queue_and_bound_its_limit():
    env = {"RAW_BUCKET": "b", "BUFFER_QUEUE_URL": " https://sqs.example/1/q ", "BUFFER_MAX_MESSAGE_BYTES": "1048576"}
    s = Settings.from_env(env)
    assert s.buffer_queue_url == "https://sqs.example/1/q" and s.buffer_max_message_bytes == 1_048_576
    assert Settings.from_env({"RAW_BUCKET": "b"}).buffer_queue_url is None
    assert Settings.from_env({"RAW_BUCKET": "b"}).buffer_max_message_bytes == 262_144
    with pytest.raises(ConfigError, match="BUFFER_MAX_MESSAGE_BYTES"):
        Settings.from_env({**env, "BUFFER_MAX_MESSAGE_BYTES": "1048577"})


def test_a_queue_without_a_client_is_a_configuration_error(bucket):
    with pytest.raises(ValueError, match="BUFFER_QUEUE_URL"):
        IngestApp(Settings(raw_bucket=bucket, buffer_queue_url="https://sqs.example/1/q"), boto3.client("s3"))
