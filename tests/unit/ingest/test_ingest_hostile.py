"""The audit's findings, one example each (the fuzz suite grows their classes).

1. JSON nested 254-1,020 levels was a 500 that dropped the batch: now the event rejects itself.
2. A lone surrogate in a header (user agent, request id) was a 500: now cleaned.
3. NUL in the fields ingest adds (user agent, request id) was stored: now cleaned.
4. An escaped backslash before ``u0000`` was accepted and then lost in the ETL: now both load it.
5. A valid neighbour of a value orjson refuses (``1e400``, a lone surrogate escape) was lost in
   a whole-body 400: now only the bad event is rejected.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import orjson
import pytest
from common.lake import MAX_LINE_BYTES
from common.text import value_problem
from ingest.app import IngestApp
from ingest.settings import Settings
from ingest_helpers import APP_ID, FIXED_NOW, RecordingS3, api_event, envelope, make_event

pytestmark = pytest.mark.unit


def send(req: dict[str, Any], **overrides: Any) -> tuple[int, dict[str, Any], RecordingS3]:
    s3 = RecordingS3()
    settings = Settings(raw_bucket="raw", allowed_app_ids=frozenset({APP_ID}))
    app = IngestApp(Settings(**{**settings.__dict__, **overrides}), s3, clock=lambda: FIXED_NOW)
    resp = app.handle(req)
    return resp["statusCode"], json.loads(resp["body"]), s3


def lines(s3: RecordingS3, *, rejected: bool = False) -> list[dict[str, Any]]:
    (put,) = s3.objects(rejected=rejected)
    return [orjson.loads(line) for line in gzip.decompress(put["Body"]).splitlines()]


def with_raw_event(raw: str, *, before: int = 1, after: int = 1) -> tuple[str, list[dict]]:
    """An envelope's JSON text with ``raw`` (any JSON text) as one event between valid ones."""
    good = [make_event() for _ in range(before + after)]
    parts = [json.dumps(e) for e in good[:before]] + [raw] + [json.dumps(e) for e in good[before:]]
    return (f'{{"app_id": "{APP_ID}", "sent_at": "2026-11-22T04:31:00Z", "events": [{", ".join(parts)}]}}',
            good)


@pytest.mark.parametrize("depth", [253, 254, 255, 300, 700, 1020])
def test_deeply_nested_event_rejects_itself_and_its_neighbours_are_kept(depth: int) -> None:
    text, good = with_raw_event("[" * depth + "]" * depth)  # envelope + events: 2 levels more
    status, body, s3 = send(api_event(raw=text))
    assert status == 200 and body["accepted"] == 2 and [r["index"] for r in body["rejected"]] == [1]
    assert [line["event_id"] for line in lines(s3)] == [e["event_id"] for e in good]
    (record,) = lines(s3, rejected=True)
    assert record["index"] == 1 and record["reason"] == body["rejected"][0]["reason"]
    assert record["payload_sanitised"] is True  # cut at 64 levels: a marker stands for the rest
    assert value_problem(record["payload"]) is None


def test_nesting_beyond_what_any_parser_reads_is_a_400_with_a_reason() -> None:
    text, _ = with_raw_event("[" * 1100 + "]" * 1100)
    status, body, s3 = send(api_event(raw=text))
    assert status == 400 and "not valid JSON" in body["error"] and s3.puts == []


@pytest.mark.parametrize("header", ["user-agent", "request-id"])
@pytest.mark.parametrize("bad", ["a\ud800b", "a\x00b", "\udfff\x00"])
def test_headers_ingest_stores_are_cleaned_not_a_5xx(header: str, bad: str) -> None:
    req = api_event(envelope([make_event()]))
    if header == "user-agent":
        req["headers"]["user-agent"] = req["requestContext"]["http"]["userAgent"] = bad
    else:
        req["requestContext"]["requestId"] = bad
    status, body, s3 = send(req)
    assert status == 200 and body == {"accepted": 1, "rejected": []}
    (line,) = lines(s3)
    stored = line["user_agent" if header == "user-agent" else "request_id"]
    assert stored == "".join("\ufffd" if c == "\x00" or "\ud800" <= c <= "\udfff" else c for c in bad)


def test_an_escaped_backslash_before_u0000_is_text_and_accepted() -> None:
    ev = make_event(page={"url": "https://shop.example/", "path": "/", "title": "\\u0000"})
    status, body, s3 = send(api_event(envelope([ev])))
    assert status == 200 and body == {"accepted": 1, "rejected": []}
    assert lines(s3)[0]["page"]["title"] == "\\u0000"


def test_a_real_nul_is_rejected_with_a_reason_naming_the_field() -> None:
    bad = make_event(items=[{"item_id": "SKU-1", "item_name": "a\x00"}], event_name="view_item")
    status, body, _ = send(api_event(envelope([make_event(), bad])))
    assert status == 200 and body["accepted"] == 1
    assert body["rejected"][0]["reason"].startswith("items/0/item_name: contains the NUL character")


@pytest.mark.parametrize(("raw", "reason"), [
    ('{"x": 1e400}', "x: number is not finite"),
    ('{"x": "\\ud800"}', "x: contains an unpaired surrogate U+D800"),
    ('{"\\udfff": 1}', "key contains an unpaired surrogate U+DFFF"),
])
def test_a_value_orjson_refuses_rejects_only_its_event(raw: str, reason: str) -> None:
    text, good = with_raw_event(raw)
    status, body, s3 = send(api_event(raw=text))
    assert status == 200 and body["accepted"] == 2
    assert body["rejected"][0]["index"] == 1 and reason in body["rejected"][0]["reason"]
    assert [line["event_id"] for line in lines(s3)] == [e["event_id"] for e in good]
    (record,) = lines(s3, rejected=True)
    assert record["payload_sanitised"] is True  # a lone surrogate kept as its \\udXXX text
    assert value_problem(record["payload"]) is None


def test_a_number_orjson_reads_as_a_float_is_accepted_as_one() -> None:
    text, _ = with_raw_event(json.dumps(make_event())[:-1] + ', "params": {"big": 18446744073709551616}}')
    status, body, s3 = send(api_event(raw=text))
    assert status == 200 and body == {"accepted": 3, "rejected": []}
    assert lines(s3)[1]["params"]["big"] == 2.0**64


def test_an_event_whose_line_is_longer_than_the_etl_reads_rejects_itself() -> None:
    item = {"item_id": "\x01" * 128, "item_name": "\x01" * 256, "item_brand": "\x01" * 128}
    wide = make_event("view_item_list", items=[item] * 100)  # valid, ~330 kB as \u0001 escapes
    status, body, s3 = send(api_event(envelope([make_event(), wide, make_event()])))
    assert status == 200 and body["accepted"] == 2 and body["rejected"][0]["index"] == 1
    assert f"{MAX_LINE_BYTES}-byte line limit" in body["rejected"][0]["reason"]
    assert len(lines(s3)) == 2


def test_a_wide_event_within_the_line_limit_is_accepted() -> None:
    item = {"item_id": "x" * 128, "item_name": "x" * 256, "item_brand": "x" * 128}
    wide = make_event("view_item_list", items=[item] * 100)  # ~55 kB
    status, body, _ = send(api_event(envelope([wide])))
    assert status == 200 and body == {"accepted": 1, "rejected": []}


def test_the_request_log_line_stays_one_json_object_whatever_the_request_holds(capsys) -> None:
    req = api_event(envelope([make_event()]), headers={"origin": "\ud800", "user-agent": "\x00"})
    req["requestContext"]["requestId"] = "r\ud800"
    odd_method = api_event(method="P\ud800ST", path="/v1/events")
    assert send(req)[0] == 200 and send(odd_method)[0] == 405
    first, second = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert first["message"] == "request" and first["status"] == 200 and first["request_id"] == "r\ufffd"
    assert second["status"] == 405 and second["method"] == "P\ud800ST"  # json escapes it: \ud800 text
