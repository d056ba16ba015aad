"""Ingest handler throughput per core, and cost per million events.

What is measured, per batch size (1, 25 and 500 events per request):

* ``handler_without_put``: the whole handler (``IngestApp.handle``: route, decode, validate,
  enrich, serialise, gzip, build the key and the response, its JSON log line written to the
  null device) with the S3 client replaced by a stub that only counts objects and bytes;
* ``handler_with_emulator_put``: the same with the real ``put_object`` to the emulator (moto
  runs in its own process, so the emulator's CPU is not in these figures, the HTTP round trip
  is);
* ``baseline``: what a first implementation would write: stdlib ``json``, the interpreted
  ``jsonschema`` Draft 2020-12 validator (with the format checker, envelope then each event),
  a dict merge per event for the enrichment and ``gzip.compress`` at its default level.

"Per core": everything runs on one thread and the figure is events per **CPU second of this
process** (``time.process_time``), so other work on a shared machine does not count against
it; wall-clock rates are reported beside it. Each figure is the median of several repetitions,
and the variants are interleaved inside each repetition so that a noisy neighbour slows all of
them alike. The events are the synthetic shop traffic of :mod:`clickstream.traffic` (all
twelve event names in realistic proportions, varied pages, items and ids), not one event
repeated, so validation and gzip see realistic input.

Also reported: a per-stage profile of the handler (CPU microseconds per event in each stage,
for each batch size, against the 10 us budget of the target), and the stored bytes per event.

Cost per million events from the requests and PUTs one request makes, at list prices
(us-east-1, checked 2025): HTTP API $1.00 per million requests (first 300M/month), S3 PUT
$0.005 per 1,000, Lambda $0.20 per million requests + $0.0000166667 per GB-s (x86_64), with
the measured handler time per request (wall, with the put) at the module's default 512 MB.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import jsonschema
from common.schema import events_v1
from ingest.app import IngestApp
from ingest.settings import Settings

from clickstream.traffic import TrafficConfig, Truth, deliveries

PRICES = {
    "http_api_per_million_requests": 1.00,
    "s3_put_per_thousand": 0.005,
    "lambda_per_million_requests": 0.20,
    "lambda_per_gb_second": 0.0000166667,
    "lambda_memory_gb": 0.5,
}
TARGET_EVENTS_PER_S = 100_000
TARGET_COST_PER_MILLION_AT_25 = 0.30
BATCHES = (1, 25, 500)
APP_ID = "shop-web"
USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0.0.0 Safari/537.36")


def traffic_events(count: int) -> list[dict[str, Any]]:
    """``count`` valid, distinct events from the deterministic shop traffic generator."""
    cfg = TrafficConfig(events=count, duplicate_rate=0.0, late_rate=0.0, malformed_rate=0.0,
                        ingest_reject_rate=0.0)
    events = [ev for d in deliveries(cfg, Truth()) for ev in d.events]
    return events[:count]


def api_request(events: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
    """An HTTP API payload 2.0 event carrying ``events``, as the tracker sends them."""
    body = {"app_id": APP_ID, "sent_at": "2024-06-03T12:00:00.000Z", "events": events}
    return {
        "version": "2.0", "routeKey": "POST /v1/events", "rawPath": "/v1/events",
        "headers": {"content-type": "text/plain;charset=UTF-8", "user-agent": USER_AGENT,
                    "origin": "https://shop.example.com"},
        "requestContext": {"requestId": request_id, "stage": "$default",
                           "http": {"method": "POST", "path": "/v1/events",
                                    "sourceIp": "203.0.113.57", "userAgent": USER_AGENT}},
        "body": json.dumps(body, separators=(",", ":")), "isBase64Encoded": False,
    }


def requests_for(pool: list[dict[str, Any]], n: int, limit: int = 400) -> list[dict[str, Any]]:
    """The pool cut into requests of ``n`` events (at most ``limit`` requests)."""
    count = min(limit, len(pool) // n)
    return [api_request(pool[i * n:(i + 1) * n], f"bench-{n}-{i}") for i in range(count)]


class CountingS3:
    """Stands in for the S3 client: counts objects and bytes, stores nothing."""

    def __init__(self) -> None:
        self.puts = 0
        self.bytes = 0

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        self.puts += 1
        self.bytes += len(kwargs["Body"])
        return {}


class Baseline:
    """The naive pipeline: stdlib json, interpreted jsonschema, dict merge, gzip default level."""

    def __init__(self) -> None:
        schema = events_v1()
        checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
        envelope = {**schema, "properties": {**schema["properties"], "events": {"type": "array"}}}
        self.envelope = jsonschema.Draft202012Validator(envelope, format_checker=checker)
        self.event = jsonschema.Draft202012Validator(
            {**schema["$defs"]["event"], "$defs": schema["$defs"]}, format_checker=checker)

    def handle(self, request: dict[str, Any]) -> int:
        body = json.loads(request["body"])
        if not self.envelope.is_valid(body):
            raise AssertionError("baseline: invalid envelope")
        http = request["requestContext"]["http"]
        extra = {"app_id": body["app_id"], "sent_at": body["sent_at"],
                 "received_at": "2024-06-03T12:00:00.123Z",
                 "request_id": request["requestContext"]["requestId"],
                 "ip_anon": "203.0.113.0", "user_agent": http["userAgent"]}
        lines = [json.dumps({**ev, **extra}) for ev in body["events"] if self.event.is_valid(ev)]
        gzip.compress(("\n".join(lines) + "\n").encode())
        return len(lines)


def measure(fn: Callable[[int], object], n: int, count: int, seconds: float) -> dict[str, float]:
    """Call ``fn(i)`` for about ``seconds``; events per CPU second and per wall second."""
    done = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while True:
        fn(done % count)
        done += 1
        wall = time.perf_counter() - wall0
        if wall >= seconds and done >= 3:
            break
    cpu = time.process_time() - cpu0
    return {"cpu": done * n / max(cpu, 1e-9), "wall": done * n / wall, "wall_s_per_request": wall / done}


def _handle_ok(app: IngestApp, reqs: list[dict[str, Any]]) -> Callable[[int], object]:
    def call(i: int) -> object:
        resp = app.handle(reqs[i])
        if resp["statusCode"] != 200 or b'"rejected":[]' not in resp["body"].encode():
            raise AssertionError(f"bench request not fully accepted: {resp}")
        return resp
    return call


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def stage_profile(app: IngestApp, pool: list[dict[str, Any]], n: int, repeats: int) -> dict[str, Any]:
    """CPU microseconds per event in each stage of the handler, for requests of ``n`` events.

    The stages call the very functions the handler calls, on the same requests;
    ``other_handler_work`` is the whole handler minus the stages (routing, headers, the
    enrichment values, the object key, the response and the JSON log line).
    """
    from ingest.body import decode
    from ingest.storage import enriched_jsonl, gzip_bytes

    reqs = requests_for(pool, n, limit=max(4, 2_000 // n))
    bodies = [decode(r["body"], is_base64=False, content_encoding=None, max_bytes=10**8)[0] for r in reqs]
    extra = {"app_id": APP_ID, "sent_at": "2024-06-03T12:00:00.000Z", "received_at": "2024-06-03T12:00:00.123Z",
             "request_id": "bench", "ip_anon": "203.0.113.0", "user_agent": USER_AGENT}
    lines = [enriched_jsonl(b["events"], extra) for b in bodies]
    stages: dict[str, Callable[[int], object]] = {
        "decode_body_json": lambda i: decode(reqs[i]["body"], is_base64=False, content_encoding=None,
                                             max_bytes=10**8),
        "validate_request": lambda i: app.validators.request_valid(bodies[i]),
        "duplicate_ids": lambda i: len({ev["event_id"].lower() for ev in bodies[i]["events"]}),
        "enrich_serialise": lambda i: enriched_jsonl(bodies[i]["events"], extra),
        "gzip": lambda i: gzip_bytes(lines[i]),
        "whole_handler": lambda i: app.handle(reqs[i]),
    }
    out: dict[str, float] = {}
    for name, fn in stages.items():
        best = float("inf")
        for _ in range(repeats):
            t0 = time.process_time()
            for i in range(len(reqs)):
                fn(i)
            best = min(best, time.process_time() - t0)
        out[name] = round(best / (len(reqs) * n) * 1e6, 3)
    out["other_handler_work"] = round(out["whole_handler"] - sum(v for k, v in out.items() if k != "whole_handler"), 3)
    out["budget_at_target"] = round(1e6 / TARGET_EVENTS_PER_S, 3)
    return out


def run(ctx: Any) -> dict:
    seconds = 0.3 if ctx.quick else 1.0
    repeats = 3 if ctx.quick else 5
    pool = traffic_events(2_000 if ctx.quick else 12_500)
    bucket = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    settings = Settings(raw_bucket=bucket, allowed_app_ids=frozenset({APP_ID}),
                        cors_allow_origins=frozenset({"https://shop.example.com"}))
    stack = contextlib.ExitStack()
    stub = CountingS3()
    app_stub = IngestApp(settings, stub)
    app_s3 = IngestApp(settings, s3)
    baseline = Baseline()
    # The handler's one JSON log line per request is part of its cost (in Lambda it goes to
    # stdout, which the runtime ships to CloudWatch): keep it, written to the null device.
    devnull = stack.enter_context(open(os.devnull, "w"))  # noqa: SIM115 - closed by the stack
    stack.enter_context(contextlib.redirect_stdout(devnull))
    results: dict[str, Any] = {
        "method": "events per CPU-second of the (single-threaded) bench process, median of "
                  f"{repeats} interleaved repetitions of ~{seconds}s each; wall-clock rates beside",
        "prices_usd": PRICES, "batches": {},
    }
    try:
        for n in BATCHES:
            ctx.log(f"ingest: batch {n}")
            reqs = requests_for(pool, n)
            stub.puts = stub.bytes = 0
            variants: dict[str, Callable[[int], object]] = {
                "without_put": _handle_ok(app_stub, reqs),
                "with_emulator_put": _handle_ok(app_s3, reqs),
                "baseline": lambda i, reqs=reqs: baseline.handle(reqs[i]),
            }
            for fn in variants.values():  # warm up: caches, connection pool
                fn(0)
            runs: dict[str, list[dict[str, float]]] = {k: [] for k in variants}
            for _ in range(repeats):
                for name, fn in variants.items():
                    runs[name].append(measure(fn, n, len(reqs), seconds))
            bytes_per_event = stub.bytes / max(1, stub.puts * n)
            eps = {k: _median(v, "cpu") for k, v in runs.items()}
            sec_per_req = _median(runs["with_emulator_put"], "wall_s_per_request")
            puts_per_request = 1  # all events valid: one accepted object, no rejected object
            cost = 1_000_000 / n * (
                PRICES["http_api_per_million_requests"] / 1e6
                + puts_per_request * PRICES["s3_put_per_thousand"] / 1e3
                + PRICES["lambda_per_million_requests"] / 1e6
                + sec_per_req * PRICES["lambda_memory_gb"] * PRICES["lambda_per_gb_second"]
            )
            results["batches"][str(n)] = {
                "events_per_cpu_s_without_put": round(eps["without_put"]),
                "events_per_cpu_s_with_emulator_put": round(eps["with_emulator_put"]),
                "baseline_jsonschema_stdlib_events_per_cpu_s": round(eps["baseline"]),
                "speedup_vs_baseline": round(eps["without_put"] / eps["baseline"], 2),
                "target_events_per_s": TARGET_EVENTS_PER_S,
                "meets_target_without_put": eps["without_put"] >= TARGET_EVENTS_PER_S,
                "runs_events_per_cpu_s_without_put": [round(r["cpu"]) for r in runs["without_put"]],
                "wall_events_per_s": {k: round(_median(v, "wall")) for k, v in runs.items()},
                "stored_gzip_bytes_per_event": round(bytes_per_event, 1),
                "cost_usd_per_million_events": round(cost, 4),
                "cost_target_usd_per_million_at_25": TARGET_COST_PER_MILLION_AT_25 if n == 25 else None,
            }
        ctx.log("ingest: stage profile")
        results["stage_profile_cpu_us_per_event"] = {
            str(n): stage_profile(app_stub, pool, n, repeats + 2) for n in BATCHES}
    finally:
        stack.close()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        s3.delete_bucket(Bucket=bucket)
    return results
