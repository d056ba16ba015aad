"""The ingest app end to end against a real S3 (the moto server): keys, contents, statuses."""

from __future__ import annotations

import gzip
import json
import re

import boto3
import orjson
import pytest
from ingest.settings import DEFAULT_RAW_PREFIX
from ingest_helpers import APP_ID, api_event, envelope, list_objects, make_event, read_lines

pytestmark = pytest.mark.unit

KEY_RE = re.compile(
    r"^events/v1/dt=2026-11-22/hr=04/1795321860123-"
    r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.jsonl\.gz$"
)
REJECTED_KEY_RE = re.compile(
    r"^events/v1/rejected/dt=2026-11-22/hr=04/1795321860123-[0-9a-f-]{36}\.jsonl\.gz$"
)
ENRICHMENT_KEYS = {"app_id", "sent_at", "received_at", "request_id", "ip_anon", "user_agent"}


def call(app, event) -> tuple[int, dict, dict]:
    resp = app.handle(event)
    body = json.loads(resp["body"]) if resp["body"] else {}
    return resp["statusCode"], body, resp["headers"]


def test_valid_batch_lands_as_one_object_at_the_partitioned_key_and_reads_back_equal(make_app, bucket):
    events = [make_event(n) for n in ("page_view", "view_item", "add_to_cart", "purchase", "search")]
    req = api_event(envelope(events))
    status, body, _ = call(make_app(), req)
    assert (status, body) == (200, {"accepted": 5, "rejected": []})
    keys = list_objects(bucket)
    assert len(keys) == 1 and KEY_RE.match(keys[0]), keys
    lines = read_lines(bucket, keys[0])
    assert [{k: v for k, v in line.items() if k not in ENRICHMENT_KEYS} for line in lines] == events
    # Byte contract: each line is the event as sent, then the enrichment keys, in this order.
    raw = gzip.decompress(boto3.client("s3").get_object(Bucket=bucket, Key=keys[0])["Body"].read())
    extra = {k: lines[0][k] for k in ("app_id", "sent_at", "received_at", "request_id", "ip_anon", "user_agent")}
    assert raw == b"".join(orjson.dumps({**ev, **extra}) + b"\n" for ev in events)
    for line in lines:
        assert line["app_id"] == APP_ID
        assert line["sent_at"] == "2026-11-22T04:31:00Z"
        assert line["received_at"] == "2026-11-22T04:31:00.123Z"
        assert line["request_id"] == req["requestContext"]["requestId"]
        assert line["ip_anon"] == "203.0.113.0"
        assert line["user_agent"] == "Mozilla/5.0 test"


def test_object_is_gzip_jsonl_with_metadata(make_app, bucket):
    call(make_app(), api_event(envelope([make_event()])))
    key = list_objects(bucket)[0]
    obj = boto3.client("s3").get_object(Bucket=bucket, Key=key)
    raw = obj["Body"].read()
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw).endswith(b"}\n") and gzip.decompress(raw).count(b"\n") == 1
    assert obj["Metadata"]["event-count"] == "1"


def test_mixed_batch_keeps_valid_events_and_stores_rejects_with_reasons(make_app, bucket):
    good1, good2 = make_event("page_view"), make_event("view_item")
    bad_name = make_event("page_view", event_name="teleport")
    bad_purchase = make_event("purchase")
    del bad_purchase["transaction_id"]
    not_object = "just a string"
    events = [good1, bad_name, good2, bad_purchase, not_object]
    req = api_event(envelope(events))
    status, body, _ = call(make_app(), req)
    assert status == 200
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [1, 3, 4]
    assert "event_name" in body["rejected"][0]["reason"]
    assert "transaction_id" in body["rejected"][1]["reason"]
    assert 'is not of type "object"' in body["rejected"][2]["reason"]

    accepted = [k for k in list_objects(bucket) if "/rejected/" not in k]
    rejected = list_objects(bucket, f"{DEFAULT_RAW_PREFIX}rejected/")
    assert len(accepted) == 1 and len(rejected) == 1
    assert REJECTED_KEY_RE.match(rejected[0]), rejected
    assert [line["event_id"] for line in read_lines(bucket, accepted[0])] == [good1["event_id"], good2["event_id"]]
    rows = read_lines(bucket, rejected[0])
    assert [(r["index"], r["payload"]) for r in rows] == [(1, bad_name), (3, bad_purchase), (4, not_object)]
    for r in rows:
        assert set(r) == {"index", "reason", "payload", "app_id", "request_id", "received_at"}
        assert r["reason"] and r["app_id"] == APP_ID
        assert r["request_id"] == req["requestContext"]["requestId"]
        assert r["received_at"] == "2026-11-22T04:31:00.123Z"


def test_all_rejected_is_200_with_only_a_rejected_object(make_app, bucket):
    status, body, _ = call(make_app(), api_event(envelope([{"event_name": "page_view"}])))
    assert status == 200 and body["accepted"] == 0 and len(body["rejected"]) == 1
    keys = list_objects(bucket)
    assert len(keys) == 1 and "/rejected/" in keys[0]


@pytest.mark.usefixtures("bucket")
def test_duplicate_event_id_in_one_request_is_rejected_not_double_counted(make_app):
    ev = make_event()
    status, body, _ = call(make_app(), api_event(envelope([ev, dict(ev)])))
    assert status == 200 and body["accepted"] == 1
    assert body["rejected"] == [{"index": 1, "reason": "duplicate event_id in this request"}]


def test_duplicate_event_id_differing_only_in_case_is_rejected(make_app, bucket):
    ev, other = make_event(), make_event()
    twin = {**make_event("search"), "event_id": ev["event_id"].upper()}
    status, body, _ = call(make_app(), api_event(envelope([ev, other, twin])))
    assert status == 200 and body["accepted"] == 2
    assert body["rejected"] == [{"index": 2, "reason": "duplicate event_id in this request"}]
    accepted = [k for k in list_objects(bucket) if "/rejected/" not in k]
    assert [line["event_id"] for line in read_lines(bucket, accepted[0])] == [ev["event_id"], other["event_id"]]


@pytest.mark.usefixtures("bucket")
def test_enrichment_keys_cannot_be_spoofed_by_the_client(make_app):
    ev = make_event(received_at="1999-01-01T00:00:00.000Z")
    status, body, _ = call(make_app(), api_event(envelope([ev])))
    assert status == 200 and body["accepted"] == 0
    assert "received_at" in body["rejected"][0]["reason"]


@pytest.mark.usefixtures("bucket")
def test_nul_characters_are_rejected_per_event(make_app):
    ev = make_event(page={"url": "https://shop.example/", "path": "/", "title": "a\x00b"})
    status, body, _ = call(make_app(), api_event(envelope([ev, make_event()])))
    assert status == 200 and body["accepted"] == 1
    assert body["rejected"][0]["index"] == 0 and "NUL" in body["rejected"][0]["reason"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "invalid envelope"),
        ('{"app_id": "shop-web"}', "invalid envelope"),
        ('{"app_id": "shop-web", "sent_at": "yesterday", "events": [{}]}', "sent_at"),
        ('{"app_id": "shop-web", "sent_at": "2026-11-22T04:31:00Z", "events": []}', "events"),
        ('{"app_id": "shop-web", "sent_at": "2026-11-22T04:31:00Z", "events": {}}', "events"),
        ('{"app_id": 7, "sent_at": "2026-11-22T04:31:00Z", "events": [{}]}', "app_id"),
        ("", "empty body"),
        ("NaN", "not valid JSON"),
    ],
)
def test_malformed_body_or_envelope_is_400(make_app, bucket, raw, reason):
    status, body, _ = call(make_app(), api_event(raw=raw))
    assert status == 400 and reason in body["error"]
    assert list_objects(bucket) == []


@pytest.mark.usefixtures("bucket")
def test_bad_base64_and_bad_gzip_are_400(make_app):
    req = api_event(raw="!!!not base64!!!")
    req["isBase64Encoded"] = True
    assert call(make_app(), req)[0] == 400
    req = api_event(raw=b"\x1f\x8bnot really gzip", b64=True)
    assert call(make_app(), req)[0] == 400


def test_unknown_app_id_is_403(make_app, bucket):
    status, body, _ = call(make_app(), api_event(envelope([make_event()], app_id="evil-app")))
    assert status == 403 and body == {"error": "unknown app_id"}
    assert list_objects(bucket) == []


@pytest.mark.usefixtures("bucket")
def test_empty_allow_list_fails_closed(make_app):
    status, _, _ = call(make_app(allowed_app_ids=frozenset()), api_event(envelope([make_event()])))
    assert status == 403


def test_body_over_the_limit_is_413(make_app, bucket):
    app = make_app(max_body_bytes=2048)
    events = [make_event() for _ in range(20)]
    assert len(orjson.dumps(envelope(events))) > 2048
    assert call(app, api_event(envelope(events)))[0] == 413
    assert call(app, api_event(envelope(events), b64=True))[0] == 413
    assert list_objects(bucket) == []


@pytest.mark.usefixtures("bucket")
def test_gzip_bomb_is_413_without_inflating_it(make_app):
    app = make_app(max_body_bytes=64 * 1024)
    # ~10 MB of spaces compresses to ~10 kB: small on the wire, huge when inflated.
    bomb = b'{"app_id": "shop-web", "events": [' + b" " * 10_000_000 + b"]}"
    req = api_event(raw=gzip.compress(bomb, 9), b64=True, headers={"content-encoding": "gzip"})
    assert len(req["body"]) < 64 * 1024
    status, body, _ = call(app, req)
    assert status == 413 and "decompressed" in body["error"]


def test_gzip_and_base64_and_text_plain_bodies_are_accepted(make_app, bucket):
    app = make_app()
    assert call(app, api_event(envelope([make_event()]), gz=True))[1]["accepted"] == 1
    assert call(app, api_event(envelope([make_event()]), b64=True))[1]["accepted"] == 1
    beacon = api_event(envelope([make_event()]), headers={"content-type": "text/plain;charset=UTF-8"})
    assert call(app, beacon)[1]["accepted"] == 1
    assert len(list_objects(bucket)) == 3


@pytest.mark.usefixtures("bucket")
def test_too_many_events_is_413(make_app):
    app = make_app(max_events=3)
    status, body, _ = call(app, api_event(envelope([make_event() for _ in range(4)])))
    assert status == 413 and "more than 3 events" in body["error"]
    assert call(app, api_event(envelope([make_event() for _ in range(3)])))[1]["accepted"] == 3


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
@pytest.mark.usefixtures("bucket")
def test_wrong_method_is_405_with_allow_header(make_app, method):
    status, _, headers = call(make_app(), api_event(method=method))
    assert status == 405 and headers["allow"] == "POST, OPTIONS"


@pytest.mark.parametrize("path", ["/", "/v1/event", "/v2/events", "/v1/events/x", "/admin"])
@pytest.mark.usefixtures("bucket")
def test_other_paths_are_404(make_app, path):
    assert call(make_app(), api_event(envelope([make_event()]), path=path))[0] == 404


@pytest.mark.usefixtures("bucket")
def test_named_stage_prefix_is_routed(make_app):
    req = api_event(envelope([make_event()]), path="/prod/v1/events")
    req["requestContext"]["stage"] = "prod"
    assert call(make_app(), req)[0] == 200


@pytest.mark.usefixtures("bucket")
def test_cors_preflight_is_answered_for_allowed_origins_only(make_app):
    app = make_app()
    status, _, headers = call(app, api_event(method="OPTIONS", headers={"origin": "https://shop.example"}))
    assert status == 204
    assert headers["access-control-allow-origin"] == "https://shop.example"
    assert "POST" in headers["access-control-allow-methods"]
    _, _, headers = call(app, api_event(method="OPTIONS", headers={"origin": "https://evil.example"}))
    assert "access-control-allow-origin" not in headers


def test_s3_failure_is_503_and_logged(make_app, bucket, capsys):
    boto3.client("s3").delete_bucket(Bucket=bucket)
    status, body, _ = call(make_app(), api_event(envelope([make_event()])))
    assert status == 503 and "retry" in body["error"]
    logs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    errors = [entry for entry in logs if entry["level"] == "ERROR"]
    assert errors and errors[0]["message"] == "raw bucket write failed"
    assert "NoSuchBucket" in errors[0]["error"]


@pytest.mark.usefixtures("bucket")
def test_every_request_writes_one_json_log_line(make_app, capsys):
    call(make_app(), api_event(envelope([make_event()])))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 1
    assert lines[0]["message"] == "request" and lines[0]["status"] == 200
    assert lines[0]["accepted"] == 1 and lines[0]["app_id"] == APP_ID


def test_kms_key_is_named_on_every_put_when_configured(make_app, bucket):
    kms = boto3.client("kms")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    call(make_app(kms_key_arn=key_arn), api_event(envelope([make_event()])))
    head = boto3.client("s3").head_object(Bucket=bucket, Key=list_objects(bucket)[0])
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith(key_arn.split("/")[-1])
