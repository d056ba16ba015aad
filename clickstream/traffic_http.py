"""Send generated traffic through the ingest HTTP API, as browsers would.

The generator (:mod:`clickstream.traffic`) yields one :class:`~clickstream.traffic.Delivery`
per tracker request. Here each becomes ``POST /v1/events`` with the envelope
``{"app_id", "sent_at", "events"}``: its valid events plus the ones the ingest must refuse,
shuffled in by the same seed, and the delivery's user agent. Lines that are malformed at the
byte level cannot travel inside a JSON body, so they are left out (they exercise the ETL in
the S3 path instead) and the result says how many.

Why not the tracker itself: the browser tests drive the real tracker; this path is for volume
(hundreds of sessions in seconds) with a known truth.
"""

from __future__ import annotations

import http.client
import json
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import orjson

from clickstream.traffic import Delivery, TrafficConfig, Truth, deliveries


@dataclass
class SendResult:
    """What the API answered, summed over every request."""

    requests: int = 0
    events_sent: int = 0
    accepted: int = 0
    rejected: int = 0
    expected_rejects: int = 0
    skipped_malformed_lines: int = 0
    statuses: Counter = field(default_factory=Counter)
    reject_reasons: Counter = field(default_factory=Counter)


def _body(cfg: TrafficConfig, d: Delivery, rng: random.Random) -> tuple[bytes, int]:
    events = list(d.events)
    for _reason, ev in d.invalid:
        events.insert(rng.randrange(len(events) + 1), ev)
    return orjson.dumps({"app_id": cfg.app_id, "sent_at": d.sent_at, "events": events}), len(events)


def send_over_http(cfg: TrafficConfig, url: str, *, workers: int = 4, truth: Truth | None = None,
                   origin: str | None = None, timeout: float = 30) -> tuple[SendResult, Truth]:
    """POST every delivery to ``url`` (the full ``.../v1/events`` URL); return answers and truth."""
    truth = truth or Truth()
    parts = urlsplit(url)
    rng = random.Random(cfg.seed + 2)  # noqa: S311 - synthetic data
    result = SendResult()
    batches: list[tuple[bytes, int, Delivery]] = []
    for d in deliveries(cfg, truth):
        body, n = _body(cfg, d, rng)
        if not n:
            continue
        batches.append((body, n, d))
        result.expected_rejects += len(d.invalid)
        result.skipped_malformed_lines += len(d.junk_lines)

    def post(item: tuple[bytes, int, Delivery]) -> tuple[int, dict, int]:
        body, n, d = item
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        headers = {"Content-Type": "text/plain;charset=UTF-8"}
        if d.user_agent:
            headers["User-Agent"] = d.user_agent
        if origin:
            headers["Origin"] = origin
        try:
            conn.request("POST", parts.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        try:
            payload = json.loads(data)
        except ValueError:
            payload = {}
        return resp.status, payload, n

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for status, payload, n in pool.map(post, batches):
            result.requests += 1
            result.events_sent += n
            result.statuses[status] += 1
            if status == 200:
                result.accepted += int(payload.get("accepted", 0))
                rejected = payload.get("rejected", [])
                result.rejected += len(rejected)
                result.reject_reasons.update(r.get("reason", "?").split(":")[0] for r in rejected)
    return result, truth
