"""Helpers shared by the ETL end-to-end tests (not a test module)."""

from __future__ import annotations

import gzip
import uuid
from datetime import UTC, datetime

import orjson


def put_lines(s3, bucket: str, lines: list[bytes], *, received: datetime, kind: str = "events",
              prefix: str = "events/v1/", raw_body: bytes | None = None) -> str:
    """PUT one object under the ingest key layout; return its key."""
    ms = int(received.timestamp() * 1000)
    middle = "rejected/" if kind == "rejected" else ""
    key = f"{prefix}{middle}dt={received:%Y-%m-%d}/hr={received:%H}/{ms}-{uuid.uuid4()}.jsonl.gz"
    body = raw_body if raw_body is not None else gzip.compress(b"\n".join(lines) + b"\n")
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return key


def event(received: datetime, **over) -> dict:
    """A valid enriched page_view event received at ``received``."""
    rec = received.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    ev = {
        "event_id": str(uuid.uuid4()), "event_name": "page_view", "event_ts": rec,
        "anonymous_id": "anon-1", "session_id": f"s-{uuid.uuid4()}",
        "page": {"url": "https://shop.example.com/", "path": "/", "title": "Home"},
        "app_id": "shop-web", "sent_at": rec, "received_at": rec, "request_id": str(uuid.uuid4()),
        "ip_anon": "203.0.113.0", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/127.0",
    }
    ev.update(over)
    return ev


def line(ev: dict) -> bytes:
    return orjson.dumps(ev)
