"""Ingest handler throughput and cost per million events.

Figures (per batch size 1, 25, 500):
* events/s on one core through the whole handler (decode + validate + enrich + gzip), with
  the S3 put replaced by a no-op, and with the real put to the emulator;
* baseline in the same run: the same pipeline with the interpreted ``jsonschema`` validator
  and the stdlib ``json`` module (what a first implementation would use).
Cost per million events from the requests and PUTs one request makes, at list prices
(us-east-1, checked 2025): HTTP API $1.00 per million requests (first 300M/month), S3 PUT
$0.005 per 1,000, Lambda $0.20 per million requests + $0.0000166667 per GB-s (x86_64), with
the measured handler time per request at the module's default 512 MB.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import jsonschema
from common.schema import events_v1
from ingest.app import IngestApp
from ingest.settings import Settings

PRICES = {
    "http_api_per_million_requests": 1.00,
    "s3_put_per_thousand": 0.005,
    "lambda_per_million_requests": 0.20,
    "lambda_per_gb_second": 0.0000166667,
    "lambda_memory_gb": 0.5,
}
TARGET_EVENTS_PER_S = 100_000
TARGET_COST_PER_MILLION_AT_25 = 0.30


def _event(i: int) -> dict[str, Any]:
    names = ["page_view", "view_item", "add_to_cart", "purchase"]
    name = names[i % 4]
    ev: dict[str, Any] = {
        "event_id": str(uuid.uuid4()), "event_name": name, "event_ts": "2026-11-22T04:31:00.123Z",
        "anonymous_id": "0d6f4c8e-8a1b-4c2d-9e3f-1a2b3c4d5e6f", "session_id": "9a8b7c6d-5e4f",
        "page": {"url": "https://shop.example.com/laptops/acme-14", "path": "/laptops/acme-14",
                 "title": "Acme Book 14", "referrer": "https://shop.example.com/laptops"},
    }
    if name != "page_view":
        ev["items"] = [{"item_id": "LAP-14", "item_name": "Acme Book 14", "item_brand": "Acme",
                        "item_category": "laptops", "price": 1199.0, "quantity": 1}]
        ev.update(value=1199.0, currency="EUR")
    if name == "purchase":
        ev["transaction_id"] = f"T-{i}"
    return ev


def _request(n: int) -> dict[str, Any]:
    body = {"app_id": "shop-web", "sent_at": "2026-11-22T04:31:01Z", "events": [_event(i) for i in range(n)]}
    return {"version": "2.0", "rawPath": "/v1/events", "headers": {"content-type": "text/plain"},
            "requestContext": {"requestId": "bench", "stage": "$default",
                               "http": {"method": "POST", "path": "/v1/events", "sourceIp": "203.0.113.9",
                                        "userAgent": "bench"}},
            "body": json.dumps(body), "isBase64Encoded": False}


class _NullS3:
    def __init__(self) -> None:
        self.puts = 0

    def put_object(self, **_: Any) -> None:
        self.puts += 1


def _rate(app: IngestApp, n: int, seconds: float) -> tuple[float, float]:
    """(events/s, seconds per request) over about ``seconds`` of wall time."""
    reqs = [_request(n) for _ in range(20)]
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        resp = app.handle(reqs[done % len(reqs)])
        assert resp["statusCode"] == 200, resp
        done += 1
    elapsed = time.perf_counter() - start
    return done * n / elapsed, elapsed / done


def _baseline_rate(n: int, seconds: float) -> float:
    """Naive pipeline: json + interpreted jsonschema on every event + gzip."""
    import gzip

    schema = events_v1()
    validator = jsonschema.Draft202012Validator({**schema["$defs"]["event"], "$defs": schema["$defs"]})
    reqs = [_request(n) for _ in range(20)]
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        body = json.loads(reqs[done % len(reqs)]["body"])
        lines = [json.dumps({**e, "received_at": "x"}) for e in body["events"] if validator.is_valid(e)]
        gzip.compress("\n".join(lines).encode())
        done += 1
    return done * n / (time.perf_counter() - start)


def run(ctx: Any) -> dict:
    seconds = 0.5 if ctx.quick else 3.0
    bucket = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    settings = Settings(raw_bucket=bucket, allowed_app_ids=frozenset({"shop-web"}))
    null = _NullS3()
    app_null = IngestApp(settings, null)
    app_s3 = IngestApp(settings, s3)
    import logging
    logging.getLogger("ingest").disabled = True  # one log line per request is not the subject
    results: dict[str, Any] = {"prices_usd": PRICES, "batches": {}}
    try:
        for n in (1, 25, 500):
            ctx.log(f"ingest: batch {n}")
            eps_null, _ = _rate(app_null, n, seconds)
            eps_s3, sec_per_req = _rate(app_s3, n, seconds)
            base = _baseline_rate(n, seconds)
            puts_per_request = 1  # all events valid: one accepted object, no rejected object
            per_million_requests = 1_000_000 / n
            cost = per_million_requests * (
                PRICES["http_api_per_million_requests"] / 1e6
                + puts_per_request * PRICES["s3_put_per_thousand"] / 1e3
                + PRICES["lambda_per_million_requests"] / 1e6
                + sec_per_req * PRICES["lambda_memory_gb"] * PRICES["lambda_per_gb_second"]
            )
            results["batches"][str(n)] = {
                "events_per_s_without_put": round(eps_null),
                "events_per_s_with_emulator_put": round(eps_s3),
                "baseline_jsonschema_stdlib_events_per_s": round(base),
                "speedup_vs_baseline": round(eps_null / base, 2),
                "target_events_per_s": TARGET_EVENTS_PER_S,
                "cost_usd_per_million_events": round(cost, 4),
                "cost_target_usd_per_million_at_25": TARGET_COST_PER_MILLION_AT_25 if n == 25 else None,
            }
    finally:
        logging.getLogger("ingest").disabled = False
        for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
        s3.delete_bucket(Bucket=bucket)
    return results
