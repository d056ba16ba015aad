"""The audit's findings, one example each (the fuzz suite grows their classes).

2. A lone surrogate in a header (user agent, request id) was a 500: now cleaned.
3. NUL in the fields ingest adds (user agent, request id) was stored: now cleaned.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import orjson
import pytest
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


def test_the_request_log_line_stays_one_json_object_whatever_the_request_holds(capsys) -> None:
    req = api_event(envelope([make_event()]), headers={"origin": "\ud800", "user-agent": "\x00"})
    req["requestContext"]["requestId"] = "r\ud800"
    odd_method = api_event(method="P\ud800ST", path="/v1/events")
    assert send(req)[0] == 200 and send(odd_method)[0] == 405
    first, second = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert first["message"] == "request" and first["status"] == 200 and first["request_id"] == "r\ufffd"
    assert second["status"] == 405 and second["method"] == "P\ud800ST"  # json escapes it: \ud800 text
