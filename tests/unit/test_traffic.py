"""The synthetic traffic generator: deterministic, in the ingest format, truthful."""

from __future__ import annotations

import gzip
import re

import orjson
import pytest

from clickstream.traffic import TrafficConfig, generate

pytestmark = pytest.mark.unit

KEY = re.compile(r"events/v1/(rejected/)?dt=\d{4}-\d{2}-\d{2}/hr=\d{2}/\d{13}-[0-9a-f-]{36}\.jsonl\.gz")


def test_same_seed_same_bytes_different_seed_different_bytes():
    a, ta = generate(TrafficConfig(seed=3, events=2000))
    b, tb = generate(TrafficConfig(seed=3, events=2000))
    c, _ = generate(TrafficConfig(seed=4, events=2000))
    assert [(o.key, o.body) for o in a] == [(o.key, o.body) for o in b]
    assert ta.as_dict() == tb.as_dict()
    assert [o.body for o in a] != [o.body for o in c]


def test_objects_follow_the_ingest_contract_and_truth_adds_up():
    objs, t = generate(TrafficConfig(seed=5, events=3000, days=2, malformed_rate=0.01,
                                     ingest_reject_rate=0.01, duplicate_rate=0.02))
    assert all(KEY.fullmatch(o.key) for o in objs)
    ids, lines, junk, rejects = [], 0, 0, 0
    for o in objs:
        for raw in gzip.decompress(o.body).splitlines():
            lines += 1
            try:
                rec = orjson.loads(raw)
            except orjson.JSONDecodeError:
                junk += 1
                continue
            if "/rejected/" in o.key:
                rejects += 1
                assert set(rec) == {"index", "reason", "payload", "app_id", "request_id", "received_at"}
            elif isinstance(rec, dict) and "event_id" in rec:
                assert {"received_at", "request_id", "app_id", "user_agent", "ip_anon"} <= set(rec)
                ids.append(rec["event_id"])
            else:
                junk += 1
    assert lines == t.lines_sent
    assert rejects == t.ingest_rejects > 0 and junk == t.malformed_lines > 0
    assert len(set(ids)) == t.unique_events and len(ids) - len(set(ids)) == t.duplicate_deliveries > 0
    assert sum(t.events_by_day.values()) == t.unique_events
    assert t.purchases > 0 and t.revenue > 0 and t.bot_events > 0 and t.late_events > 0
