"""Broken objects, read by the parser alone (no AWS, no database).

What the audit found and what must hold instead:

* a truncated (or corrupt) gzip object loads its complete lines and records the rest as one
  reject standing for the events its writer declared beyond them;
* a decompression bomb is refused after one output chunk, whatever its size, by its ratio;
* an object that is not JSON lines at all is refused whole, not turned into a reject per line;
* events received outside their object's dt partition are rejected, so an object can only
  touch the months around its dt;
* every parse accounts for its delivery: received = loaded + duplicates + rejected.
"""

from __future__ import annotations

import gzip
import uuid
import zlib
from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from etl.parsing import (
    MAX_RATIO,
    NOT_JSON_PROBE,
    RATIO_SLACK,
    GzipStream,
    ObjectError,
    ReadError,
    Reject,
    declared_count,
    event_row,
    parse_object,
    received_window,
)
from ingest.storage import enriched_jsonl, gzip_bytes

pytestmark = pytest.mark.unit

DT = date(2024, 5, 1)
LIMITS = {"max_decompressed": 64 << 20, "max_line": 256 << 10,
          "max_late": timedelta(days=30), "max_future": timedelta(days=1)}


def ev(received: str = "2024-05-01T10:00:01.000Z", **over) -> dict:
    e = {"event_id": str(uuid.uuid4()), "event_name": "page_view", "event_ts": received,
         "received_at": received, "anonymous_id": "a", "session_id": "s"}
    e.update(over)
    return e


def lines(n: int, **over) -> list[bytes]:
    return [orjson.dumps(ev(**over)) for _ in range(n)]


def parse(body: bytes, *, declared: int | None = None, kind: str = "events", **limits):
    return parse_object("k", kind, DT, None, len(body), [body], declared=declared, **{**LIMITS, **limits})


def accounted(po) -> int:
    """received - loaded - duplicates - rejected, as the loader will count it (first load)."""
    rejected = sum(r[-1] for r in po.rejects)
    return po.received - len(po.event_ids) - po.duplicates_in_object - rejected


# -- truncated and corrupt streams ------------------------------------------------------------
@pytest.mark.parametrize("declared", [None, 50], ids=["no-metadata", "metadata"])
def test_a_truncated_object_loads_its_complete_lines_and_rejects_the_rest(declared):
    body = gzip.compress(b"\n".join(lines(50)) + b"\n")[:-40]
    complete = zlib.decompressobj(wbits=31).decompress(body).count(b"\n")
    assert 0 < complete < 50
    po = parse(body, declared=declared)
    assert len(po.event_ids) == complete and po.stream_error.startswith("truncated gzip stream")
    (rest,) = po.rejects
    assert rest[3] == "etl" and rest[4].startswith("truncated gzip stream:")
    assert rest[1] == complete + 1  # the line the object ends inside
    # The remainder stands for what the writer declared beyond the complete lines, or for
    # one line without a declared count; either way the delivery adds up.
    assert rest[-1] == (50 - complete if declared else 1)
    assert rest[6] and rest[6].startswith('{"event_id"')  # the partial line, kept as raw text
    assert accounted(po) == 0 and po.received == (50 if declared else complete + 1)


def test_a_stream_cut_at_a_line_boundary_still_says_so():
    full = b"\n".join(lines(3)) + b"\n"
    body = zlib.compressobj(6, zlib.DEFLATED, 31)
    data = body.compress(full) + body.flush(zlib.Z_SYNC_FLUSH)  # every line out, no trailer
    po = parse(data, declared=3)
    assert len(po.event_ids) == 3 and po.stream_error.startswith("truncated")
    (rest,) = po.rejects
    assert rest[-1] == 0 and rest[6] is None and "0 declared event(s)" in rest[4]
    assert accounted(po) == 0


def test_corrupt_bytes_after_a_good_member_keep_that_member():
    body = gzip.compress(b"\n".join(lines(4)) + b"\n") + b"not another gzip member"
    po = parse(body)
    assert len(po.event_ids) == 4
    (rest,) = po.rejects
    assert rest[4].startswith("corrupt gzip stream:") and accounted(po) == 0


@pytest.mark.parametrize("body", [b"hello, not gzip", zlib.compress(b"zlib framing, not gzip\n")],
                         ids=["text", "zlib"])
def test_bytes_that_never_were_gzip_are_refused_whole(body):
    with pytest.raises(ObjectError, match="not a valid gzip stream") as err:
        parse(body)
    assert err.value.permanent and not ReadError("x").permanent


# -- bombs and size limits --------------------------------------------------------------------
def _bomb(total_mb: int) -> bytes:
    """A multi-member gzip of newlines: ~1 KB per MB, the audit's 600 KB bomb at 600 MB."""
    member = gzip.compress(b"\n" * (1 << 20), 9)
    return member * total_mb


def test_a_bomb_is_refused_early_whatever_its_size():
    bomb = _bomb(600)
    assert 500_000 < len(bomb) < 700_000  # the audit's bomb: ~600 KB expanding to 600 MB
    stream = GzipStream([bomb], max_total=256 << 20)
    with pytest.raises(ObjectError, match="decompression bomb refused") as err:
        for _ in stream:
            pass
    assert err.value.permanent
    # Refused on bytes decompressed, not time: the slack and at most two 256 KiB chunks of 600 MiB.
    assert stream.decompressed <= RATIO_SLACK + 2 * 256 * 1024 < (600 << 20) // 100
    assert stream.consumed < 16 * 1024 < len(bomb) // 30  # a few KB of the 600 KB read
    with pytest.raises(ObjectError, match="decompression bomb"):
        parse(bomb, max_decompressed=256 << 20)


def test_the_ratio_limit_leaves_real_deliveries_alone():
    """The most repetitive delivery ingest writes: 500 events of one request, ISA-L level 1."""
    extra = {"app_id": "shop-web", "sent_at": "2024-05-01T10:00:00Z", "received_at": "2024-05-01T10:00:01.000Z",
             "request_id": str(uuid.uuid4()), "ip_anon": "203.0.113.0", "user_agent": "Mozilla/5.0 " * 20}
    events = [{k: v for k, v in ev().items() if k not in extra} for _ in range(500)]
    body = gzip_bytes(enriched_jsonl(events, extra))
    raw = gzip.decompress(body)
    assert 10 < len(raw) / len(body) < MAX_RATIO / 3
    po = parse(body)
    assert len(po.event_ids) == 500 and po.rejects == [] and po.decompressed == len(raw)


def test_over_the_decompressed_size_limit_is_refused():
    body = gzip.compress(b"\n".join(lines(200)) + b"\n")
    with pytest.raises(ObjectError, match="decompressed size exceeds the limit of 10000 bytes"):
        parse(body, max_decompressed=10_000)


# -- not JSON lines ---------------------------------------------------------------------------
def test_an_object_with_no_json_line_is_refused_not_rejected_line_by_line():
    csv = b"\n".join(b"2024-05-01,page_view,%d" % i for i in range(NOT_JSON_PROBE * 5))
    with pytest.raises(ObjectError, match=f"not JSON lines: none of the first {NOT_JSON_PROBE} lines"):
        parse(gzip.compress(csv))
    with pytest.raises(ObjectError, match="not JSON lines: none of its 2 lines"):
        parse(gzip.compress(b"a,b\nc,d\n"))
    # One JSON line among junk is a JSON-lines object with bad lines: those are rejects.
    po = parse(gzip.compress(b"a,b\n" + lines(1)[0] + b"\nc,d\n"))
    assert len(po.event_ids) == 1 and len(po.rejects) == 2 and accounted(po) == 0


# -- receive times and partitions -------------------------------------------------------------
def test_events_received_outside_their_partition_are_rejected():
    body = gzip.compress(b"\n".join([
        orjson.dumps(ev("1970-01-01T00:00:00.000Z")),
        orjson.dumps(ev("2100-01-01T00:00:00.000Z")),
        orjson.dumps(ev("2024-04-30T23:30:00.000Z")),   # inside the day's 1-day tolerance
        orjson.dumps(ev("2024-05-03T00:00:00.001Z")),   # beyond it
        *lines(2),
    ]) + b"\n")
    po = parse(body)
    reasons = [r[4] for r in po.rejects]
    assert reasons == ["received_at outside the object's dt partition (beyond the clock tolerance)"] * 3
    assert len(po.event_ids) == 3 and accounted(po) == 0
    lo, hi = received_window(DT, LIMITS["max_future"])
    assert (lo, hi) == (datetime(2024, 4, 30, tzinfo=UTC), datetime(2024, 5, 3, tzinfo=UTC))
    # Whatever an object holds, its events fall within these months of its dt.
    earliest = lo - LIMITS["max_late"]
    assert all(earliest.date() <= d < hi.date() + LIMITS["max_future"] for d in po.days)


def test_slow_and_fast_paths_apply_the_same_window():
    window = received_window(DT, timedelta(days=1))
    outside = ev("2100-01-01T00:00:00.000Z")
    with pytest.raises(Reject, match="received_at outside"):
        event_row(outside, max_late=timedelta(days=30), max_future=timedelta(days=1), received_window=window)
    # The canonical form takes the fast path, which must refuse it as well (then the slow
    # path gives the reason): same outcome whichever path sees it.
    po = parse(gzip.compress(orjson.dumps(outside) + b"\n"))
    assert po.event_ids == [] and po.rejects[0][4].startswith("received_at outside")


def test_ingest_reject_objects_are_not_bound_to_the_window():
    rec = orjson.dumps({"index": 0, "reason": "bad", "payload": ev("1970-01-01T00:00:00.000Z"),
                        "received_at": "2024-05-01T10:00:01.000Z"})
    po = parse(gzip.compress(rec + b"\n"), kind="rejected", declared=1)
    assert [r[3] for r in po.rejects] == ["ingest"] and accounted(po) == 0


# -- accounting ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("metadata", "declared"), [
    ({"events": "25", "rejected": "0", "event-count": "25"}, 25),
    ({"events": "0", "rejected": "3"}, 3),
    ({"event-count": "7", "schema": "events.v1"}, 7),   # writers before the events/rejected keys
    ({}, None), (None, None), ({"schema": "events.v1"}, None),
    ({"events": "many"}, None), ({"events": "-1"}, None), ({"events": "9" * 12}, None),
])
def test_declared_count_from_metadata(metadata, declared):
    assert declared_count(metadata) == declared


def test_duplicates_and_rejects_add_up_with_a_declared_count():
    dup = orjson.dumps(ev())
    body = gzip.compress(b"\n".join([dup, dup, b"{bad json", *lines(3)]) + b"\n")
    po = parse(body, declared=6)
    assert (len(po.event_ids), po.duplicates_in_object, len(po.rejects)) == (4, 1, 1)
    assert accounted(po) == 0
    lying = parse(body, declared=9)  # the writer says 9: three events are missing
    assert accounted(lying) == 3 and lying.received_source == "metadata"
