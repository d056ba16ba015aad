"""The raw lake's key layout (lambda_src/common/lake.py), shared by ingest, the ETL and the traffic generator.

* build -> parse gives back every part, and the key has the documented shape, with ``dt``/``hr``
  computed here by ``strftime`` (an oracle that does not use the module);
* parse accepts a string exactly when it is the key ``object_key`` builds from the parts it
  found: whatever else a hostile writer uploads (mutations of a real key, arbitrary text) is
  refused with a reason;
* the delivery metadata reads back as the count written.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from common import lake
from hypothesis import example, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.unit

UID = "0b8f6c1e-6f0e-4c0e-9a7a-3c3d2f1e0a11"
SHAPE = re.compile(r"(?P<prefix>.*?)(?P<rej>rejected/)?dt=(\d{4}-\d{2}-\d{2})/hr=(\d{2})/"
                   r"(\d+)-([0-9a-f-]{36})\.jsonl\.gz")

segments = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ0123456789!_.*'()-", min_size=1, max_size=12).filter(
    lambda s: s not in (".", ".."))
prefixes = st.lists(segments, max_size=3).map(lambda parts: "".join(p + "/" for p in parts))
instants = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31, 23), timezones=st.just(UTC))
uids = st.uuids().map(str)
kinds = st.sampled_from(lake.KINDS)


@given(prefix=prefixes, kind=kinds, received=instants, uid=uids)
@example(prefix="events/v1/", kind="events", received=datetime(2026, 1, 2, 23, 59, 59, 999999, tzinfo=UTC), uid=UID)
def test_build_then_parse_gives_back_every_part(prefix, kind, received, uid):
    key = lake.object_key(prefix, kind, received, uid)
    m = SHAPE.fullmatch(key)
    assert m is not None and m["prefix"] == prefix and bool(m["rej"]) == (kind == "rejected")
    assert (m[3], m[4]) == (received.strftime("%Y-%m-%d"), received.strftime("%H"))
    ms = int(received.timestamp()) * 1000 + received.microsecond // 1000
    assert int(m[5]) == ms and m[6] == uid
    parsed = lake.parse_key(key, prefix)
    assert (parsed.prefix, parsed.kind, parsed.received_ms, parsed.uid) == (prefix, kind, ms, uid)
    assert (parsed.dt, parsed.hr) == (received.date(), received.hour)
    assert parsed.key == key
    assert key.startswith(lake.day_prefix(prefix, kind, received.date()))


def test_the_documented_key_of_one_request():
    received = datetime(2026, 11, 22, 4, 31, 0, 123000, tzinfo=UTC)
    assert lake.object_key("events/v1/", "events", received, UID) == (
        f"events/v1/dt=2026-11-22/hr=04/1795321860123-{UID}.jsonl.gz")
    assert lake.object_key("events/v1/", "rejected", received, UID) == (
        f"events/v1/rejected/dt=2026-11-22/hr=04/1795321860123-{UID}.jsonl.gz")


def _accepts_only_its_own_rebuild(text: str, prefix: str) -> None:
    try:
        parsed = lake.parse_key(text, prefix)
    except lake.LayoutError as exc:
        assert str(exc)  # a reason, always
        return
    assert lake.object_key(prefix, parsed.kind, parsed.received_ms, parsed.uid) == text


@settings(max_examples=300)
@given(received=instants, uid=uids, kind=kinds, at=st.integers(min_value=0, max_value=200),
       cut=st.integers(min_value=0, max_value=3), junk=st.text(max_size=4))
def test_a_mutated_key_is_either_refused_or_exactly_canonical(received, uid, kind, at, cut, junk):
    key = lake.object_key("events/v1/", kind, received, uid)
    at = min(at, len(key))
    _accepts_only_its_own_rebuild(key[:at] + junk + key[at + cut:], "events/v1/")


@given(text=st.text(max_size=120))
def test_arbitrary_text_is_refused(text):
    _accepts_only_its_own_rebuild("events/v1/" + text, "events/v1/")
    with pytest.raises(lake.LayoutError):
        lake.parse_key(text, "events/v1/x/")  # cannot be under a prefix it does not start with


VALID = f"events/v1/dt=2026-11-22/hr=04/1795321860123-{UID}.jsonl.gz"


@pytest.mark.parametrize(("key", "reason"), [
    ("other/v1/" + VALID[len("events/v1/"):], "not under the prefix"),
    (VALID.replace("hr=04", "hr=24"), "hr=24"),
    (VALID.replace("dt=2026-11-22", "dt=2026-02-30"), "not a calendar date"),
    (VALID.replace("1795321860123", "01795321860123"), "leading zero"),
    (VALID.replace("1795321860123", "1795325460123"), "not inside dt=2026-11-22/hr=04"),  # an hour later
    (VALID.replace(UID, UID.upper()), "is not events/v1/[rejected/]dt="),
    (VALID.replace("dt=", "x/dt="), "is not events/v1/"),
    (VALID.replace("dt=", "../dt="), "is not events/v1/"),
    (VALID + ".exe", "is not events/v1/"),
    (VALID.replace(".jsonl.gz", "\x00.jsonl.gz"), "is not events/v1/"),
    (VALID.replace("hr=04/", "hr=04/" + "a" * 1100), "longer than S3's 1024 bytes"),
    (VALID.replace("dt=", "rejected/rejected/dt="), "is not events/v1/"),
])
def test_a_hostile_key_is_refused_with_its_reason(key, reason):
    with pytest.raises(lake.LayoutError, match=re.escape(reason)):
        lake.parse_key(key, "events/v1/")


def test_the_epoch_ms_must_be_the_partitions_own_hour():
    start = datetime(2026, 11, 22, 4, tzinfo=UTC)
    for ms, ok in ((0, True), (3_599_999, True), (-1, False), (3_600_000, False)):
        at = lake.received_ms(start) + ms
        key = f"events/v1/dt=2026-11-22/hr=04/{at}-{UID}.jsonl.gz"
        if ok:
            assert lake.parse_key(key, "events/v1/").received == start + timedelta(milliseconds=ms)
        else:
            with pytest.raises(lake.LayoutError, match="not inside"):
                lake.parse_key(key, "events/v1/")


@pytest.mark.parametrize("prefix", ["events", "../", "a//", "a/../", "a b/", "é/"])
def test_a_prefix_outside_s3_safe_segments_is_refused(prefix):
    with pytest.raises(lake.LayoutError, match="S3-safe"):
        lake.check_prefix(prefix)


def test_building_refuses_a_uid_that_parsing_would_refuse():
    with pytest.raises(lake.LayoutError, match="uuid"):
        lake.object_key("events/v1/", "events", 0, "../../x")
    assert lake.parse_key(lake.object_key("", "events", 0, str(uuid.uuid4())), "").received_ms == 0


@given(kind=kinds, count=st.integers(min_value=0, max_value=10**9 - 1))
def test_delivery_metadata_reads_back_as_the_count_written(kind, count):
    meta = lake.delivery_metadata(kind, count)
    assert lake.declared_count(meta) == count
    assert int(meta["rejected" if kind == "rejected" else "events"]) == count
