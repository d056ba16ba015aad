"""Builders shared by the ingest tests: valid events, envelopes, HTTP API 2.0 requests, S3 reads."""

from __future__ import annotations

import base64
import gzip
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import orjson

APP_ID = "shop-web"
FIXED_NOW = datetime(2026, 11, 22, 4, 31, 0, 123456, tzinfo=UTC)


def make_event(name: str = "page_view", **overrides: Any) -> dict[str, Any]:
    """A valid event of ``name`` with every field its rules require."""
    ev: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_name": name,
        "event_ts": "2026-11-22T04:30:59.500Z",
        "anonymous_id": "anon-1",
        "session_id": "sess-1",
        "page": {"url": "https://shop.example/laptops?utm_source=x", "path": "/laptops",
                 "title": "Laptops", "referrer": ""},
    }
    item = {"item_id": "SKU-1", "item_name": "Laptop 14", "item_brand": "Acme",
            "item_category": "laptops", "price": 999.0, "quantity": 1}
    if name not in ("page_view", "search", "refund"):
        ev["items"] = [item]
    if name == "search":
        ev["search_term"] = "usb-c monitor"
    if name in ("purchase", "refund"):
        ev.update(transaction_id="T-1001", value=999.0, currency="EUR")
    ev.update(overrides)
    return ev


def envelope(events: list[Any], app_id: str = APP_ID, **extra: Any) -> dict[str, Any]:
    return {"app_id": app_id, "sent_at": "2026-11-22T04:31:00Z", "events": events, **extra}


def api_event(
    body: Any = None, *, method: str = "POST", path: str = "/v1/events",
    headers: dict[str, str] | None = None, raw: str | bytes | None = None,
    b64: bool = False, gz: bool = False, source_ip: str = "203.0.113.57",
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event as API Gateway would send it."""
    data: bytes | str
    if raw is not None:
        data = raw
    elif body is not None:
        data = orjson.dumps(body)
    else:
        data = b""
    hdrs = {"content-type": "application/json", "user-agent": "Mozilla/5.0 test"}
    hdrs.update(headers or {})
    if gz:
        data = gzip.compress(data if isinstance(data, bytes) else data.encode())
        hdrs["content-encoding"] = "gzip"
        b64 = True
    if b64:
        text = base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()
    else:
        text = data.decode() if isinstance(data, bytes) else data
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": hdrs,
        "requestContext": {
            "requestId": f"req-{uuid.uuid4()}",
            "stage": "$default",
            "http": {"method": method, "path": path, "sourceIp": source_ip,
                     "userAgent": hdrs.get("user-agent", "")},
        },
        "body": text,
        "isBase64Encoded": b64,
    }


class RecordingS3:
    """An S3 client double that keeps every ``put_object`` call: for suites that run thousands
    of requests (the emulator takes milliseconds per put; this takes none)."""

    def __init__(self) -> None:
        self.puts: list[dict[str, Any]] = []

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        self.puts.append(kwargs)
        return {"ETag": f'"{len(self.puts)}"'}

    def objects(self, *, rejected: bool) -> list[dict[str, Any]]:
        """The puts of accepted (or rejected) events, in call order."""
        return [p for p in self.puts if ("/rejected/" in p["Key"]) == rejected]


def list_objects(bucket: str, prefix: str = "") -> list[str]:
    resp = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in resp.get("Contents", []))


def read_lines(bucket: str, key: str) -> list[dict[str, Any]]:
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return [orjson.loads(line) for line in gzip.decompress(body).splitlines()]
