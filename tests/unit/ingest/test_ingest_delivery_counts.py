"""Ingest declares what each object stores, and the ETL's accounting reads it back.

The lake holds one object per request and kind; each carries S3 user metadata ``events``
and ``rejected`` (its own lines of each kind). The ETL checks every object against it:
received = loaded + duplicates + rejected. Here a mixed request goes through the real app
into the emulator's S3, and both objects are parsed by the ETL's own parser.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import boto3
import pytest
from etl.parsing import declared_count, parse_object
from ingest.storage import delivery_metadata
from ingest_helpers import api_event, envelope, list_objects, make_event

pytestmark = pytest.mark.unit


def test_each_object_declares_its_own_lines(make_app, bucket):
    events = [make_event(), make_event("view_item"), make_event(event_name="teleport"), "not an event",
              make_event("search")]
    resp = make_app().handle(api_event(envelope(events)))
    assert resp["statusCode"] == 200
    s3 = boto3.client("s3")
    seen = {}
    for key in list_objects(bucket):
        obj = s3.get_object(Bucket=bucket, Key=key)
        kind = "rejected" if "/rejected/" in key else "events"
        meta = obj["Metadata"]
        body = obj["Body"].read()
        dt = date.fromisoformat(re.search(r"dt=(\d{4}-\d{2}-\d{2})", key).group(1))
        po = parse_object(key, kind, dt, None, len(body), [body], max_decompressed=1 << 20, max_line=1 << 16,
                          max_late=timedelta(days=30), max_future=timedelta(days=1),
                          declared=declared_count(meta))
        seen[kind] = (meta, po)
    ev_meta, ev_po = seen["events"]
    rej_meta, rej_po = seen["rejected"]
    assert (ev_meta["events"], ev_meta["rejected"], ev_meta["event-count"]) == ("3", "0", "3")
    assert (rej_meta["events"], rej_meta["rejected"], rej_meta["event-count"]) == ("0", "2", "2")
    # The ETL's identity per object, against what ingest declared.
    assert ev_po.received_source == rej_po.received_source == "metadata"
    assert ev_po.received == len(ev_po.event_ids) == 3
    assert rej_po.received == sum(r[-1] for r in rej_po.rejects) == 2
    assert ev_po.received + rej_po.received == len(events)  # and per request: nothing dropped


@pytest.mark.parametrize(("key", "events", "rejected"), [
    ("events/v1/dt=2026-11-22/hr=04/1-x.jsonl.gz", "7", "0"),
    ("events/v1/rejected/dt=2026-11-22/hr=04/1-x.jsonl.gz", "0", "7"),
    ("rejected/dt=2026-11-22/hr=04/1-x.jsonl.gz", "0", "7"),          # an empty RAW_PREFIX
    ("rejected/v1/dt=2026-11-22/hr=04/1-x.jsonl.gz", "7", "0"),       # a prefix named "rejected"
])
def test_the_kind_comes_from_the_keys_layout(key, events, rejected):
    meta = delivery_metadata(key, 7)
    assert (meta["events"], meta["rejected"], meta["event-count"]) == (events, rejected, "7")
