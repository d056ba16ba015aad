"""The batcher: SQS records -> one object per partition and kind, in the lake's own format.

Records are built as Lambda's SQS event source mapping delivers them; objects land in the
emulator's S3 and are read back with the ETL's own parser, so "the ETL reads the result
unchanged" is checked by the reader, not by re-stating the format here.
"""

from __future__ import annotations

import base64
import gzip
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import orjson
import pytest
from batcher import handler as handler_module
from batcher.batching import Batcher, object_uid
from batcher.records import MAX_LINES_BYTES
from batcher.settings import Settings
from common import buffer, lake
from etl.parsing import declared_count, parse_object
from isal import isal_zlib

pytestmark = pytest.mark.unit

BUCKET = "batcher-test"
T0 = datetime(2026, 11, 22, 4, 59, 59, 900000, tzinfo=UTC)  # 100 ms before hr=05
MS0 = lake.received_ms(T0)


def line(i: int, received: datetime = T0) -> bytes:
    ev = {"event_id": str(uuid.UUID(int=i)), "event_name": "page_view", "event_ts": "2026-11-22T04:59:00.000Z",
          "anonymous_id": "a", "session_id": "s", "page": {"url": "https://shop.example/", "path": "/",
                                                         "title": "Home", "referrer": ""},
          "app_id": "shop-web", "sent_at": "2026-11-22T04:59:00.000Z",
          "received_at": received.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
          "request_id": "r", "ip_anon": "203.0.113.0", "user_agent": "test"}
    return orjson.dumps(ev) + b"\n"


def reject_line(i: int) -> bytes:
    return orjson.dumps({"index": i, "reason": "bad", "payload": {"x": i}, "app_id": "shop-web",
                         "request_id": "r", "received_at": "2026-11-22T04:59:59.900Z"}) + b"\n"


def record(lines: bytes, *, kind: str = "events", ms: int = MS0, count: int | None = None,
           mid: str | None = None, body: str | None = None,
           attr_over: dict[str, Any] | None = None) -> dict[str, Any]:
    """One record as the event source mapping passes it (lower-camel attribute values)."""
    attrs = buffer.attributes(kind, lines.count(b"\n") if count is None else count, ms)
    shaped = {n: {"stringValue": v["StringValue"], "dataType": v["DataType"]} for n, v in attrs.items()}
    shaped.update(attr_over or {})
    gz = isal_zlib.compress(lines, 1, wbits=31)
    return {"messageId": mid or str(uuid.uuid4()), "receiptHandle": "h",
            "body": buffer.encode_body(gz) if body is None else body,
            "attributes": {}, "messageAttributes": {k: v for k, v in shaped.items() if v is not None},
            "eventSource": "aws:sqs"}


class MemoryS3:
    """put_object/list/get in memory: for the many-case tests (an emulator reset per case is slow)."""

    def __init__(self) -> None:
        self.store: dict[str, dict[str, Any]] = {}

    def put_object(self, **kw: Any) -> dict[str, Any]:
        self.store[kw["Key"]] = {"body": kw["Body"], "meta": dict(kw["Metadata"])}
        return {}


@pytest.fixture
def s3(fresh_emulator):  # noqa: ARG001 - the emulator is reset before the bucket is made
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def objects(s3) -> dict[str, dict[str, Any]]:
    out = {}
    for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        got = s3.get_object(Bucket=BUCKET, Key=o["Key"])
        out[o["Key"]] = {"body": got["Body"].read(), "meta": got["Metadata"]}
    return out


def etl_parse(key: str, obj: dict[str, Any]):
    lk = lake.parse_key(key, lake.DEFAULT_PREFIX)
    return parse_object(key, lk.kind, lk.dt, None, len(obj["body"]), [obj["body"]], max_decompressed=1 << 26,
                        max_line=lake.MAX_LINE_BYTES, max_late=timedelta(days=30), max_future=timedelta(days=1),
                        declared=declared_count(obj["meta"]))


def test_one_object_per_partition_and_kind_that_the_etl_reads(s3):
    next_hour = MS0 + 200  # hr=05
    recs = [record(line(1) + line(2)), record(line(3), ms=next_hour), record(line(4) + line(5) + line(6)),
            record(reject_line(0), kind="rejected"), record(reject_line(1) + reject_line(2), kind="rejected")]
    out = Batcher(Settings(raw_bucket=BUCKET), s3).handle({"Records": recs})
    assert out.response() == {"batchItemFailures": []}
    got = objects(s3)
    parts = {(lake.parse_key(k, lake.DEFAULT_PREFIX).kind, k.split("/hr=")[1][:2]): k for k in got}
    assert sorted(parts) == [("events", "04"), ("events", "05"), ("rejected", "04")]
    assert out.events == 6 and out.rejects == 3
    ev04 = parts[("events", "04")]
    assert got[ev04]["meta"]["events"] == "5" and got[ev04]["meta"]["rejected"] == "0"
    assert got[ev04]["meta"]["messages"] == "2"
    assert got[parts[("rejected", "04")]]["meta"]["rejected"] == "3"
    assert lake.parse_key(ev04, lake.DEFAULT_PREFIX).received_ms == MS0
    assert lake.parse_key(parts[("events", "05")], lake.DEFAULT_PREFIX).received_ms == next_hour
    for key, obj in got.items():
        po = etl_parse(key, obj)
        assert po.declared == po.lines == len(po.event_ids) + len(po.rejects)
    loaded = {eid for k in (ev04, parts[("events", "05")]) for eid in etl_parse(k, got[k]).event_ids}
    assert loaded == {str(uuid.UUID(int=i)) for i in range(1, 7)}


def test_the_key_and_bytes_depend_only_on_which_messages_a_group_holds(s3):
    recs = [record(line(i), mid=f"m-{i}") for i in range(1, 5)]
    batcher = Batcher(Settings(raw_bucket=BUCKET), s3)
    batcher.handle({"Records": recs})
    first = objects(s3)
    batcher.handle({"Records": list(reversed(recs))})  # SQS handing the same batch over again
    assert objects(s3) == first
    (key,) = first
    assert object_uid(f"m-{i}" for i in (4, 2, 3, 1)) in key
    assert [orjson.loads(x)["event_id"] for x in gzip.decompress(first[key]["body"]).splitlines()] == [
        str(uuid.UUID(int=i)) for i in range(1, 5)]
    batcher.handle({"Records": recs[:3]})  # another set of messages: another object
    assert len(objects(s3)) == 2


def test_a_message_delivered_twice_in_one_batch_is_written_once(s3):
    rec = record(line(1) + line(2), mid="same")
    out = Batcher(Settings(raw_bucket=BUCKET), s3).handle({"Records": [rec, dict(rec)]})
    assert out.duplicate_records == 1 and out.events == 2
    ((_, obj),) = objects(s3).items()
    assert obj["meta"]["events"] == "2"


class _FailingHourS3:
    """put_object that fails for one hour partition and passes the rest to the emulator."""

    def __init__(self, real, failing: str) -> None:
        self.real, self.failing = real, failing

    def put_object(self, **kw: Any) -> dict[str, Any]:
        if self.failing in kw["Key"]:
            raise ConnectionError("simulated S3 outage")
        return self.real.put_object(**kw)


def test_a_failed_put_reports_exactly_its_groups_messages(s3):
    ok = [record(line(1), mid="ok-1"), record(line(2), mid="ok-2")]
    lost = [record(line(3), ms=MS0 + 200, mid="h5-1"), record(line(4), ms=MS0 + 300, mid="h5-2")]
    out = Batcher(Settings(raw_bucket=BUCKET), _FailingHourS3(s3, "/hr=05/")).handle({"Records": ok + lost})
    assert sorted(f["itemIdentifier"] for f in out.response()["batchItemFailures"]) == ["h5-1", "h5-2"]
    assert out.failed_puts == 1
    (key,) = objects(s3)
    assert "/hr=04/" in key


def _bomb() -> str:
    return buffer.encode_body(isal_zlib.compress(b"\n" * (MAX_LINES_BYTES + 10), 1, wbits=31))


def _gz(data: bytes) -> str:
    return buffer.encode_body(isal_zlib.compress(data, 1, wbits=31))


HOSTILE = {
    "not base64": dict(body="%%% not base64 %%%"),
    "not gzip": dict(body=base64.b64encode(b'{"a":1}\n').decode()),
    "truncated gzip": dict(body=buffer.encode_body(isal_zlib.compress(line(9), 1, wbits=31)[:-12])),
    "two gzip members": dict(body=buffer.encode_body(gzip.compress(line(9)) + gzip.compress(line(10)))),
    "count says more": dict(count=5),
    "count zero": dict(count=0),
    "no trailing newline": dict(body=_gz(line(9)[:-1]), count=1),
    "unknown kind": dict(kind_attr={"stringValue": "other", "dataType": "String"}),
    "no kind": dict(kind_attr=None),
    "other schema": dict(schema={"stringValue": "events.v2", "dataType": "String"}),
    "count not a number": dict(count_attr={"stringValue": "-1", "dataType": "Number"}),
    "received far future": dict(received_ms={"stringValue": "9" * 16, "dataType": "Number"}),
    "decompression bomb": dict(body=_bomb(), count=MAX_LINES_BYTES + 10),
    "empty body": dict(body=""),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_garbled_message_fails_alone_and_the_valid_ones_are_written(case):
    s3 = MemoryS3()
    spec = dict(HOSTILE[case])
    over: dict[str, Any] = {}
    for name, attr in (("kind_attr", buffer.KIND), ("count_attr", buffer.COUNT)):
        if name in spec:
            over[attr] = spec.pop(name)
    for attr in (buffer.SCHEMA_ATTR, buffer.RECEIVED_MS):
        if attr in spec:
            over[attr] = spec.pop(attr)
    bad = record(line(9), mid="bad", attr_over=over, **spec)
    good = [record(line(1), mid="good-1"), record(line(2) + line(3), mid="good-2")]
    out = Batcher(Settings(raw_bucket=BUCKET), s3).handle({"Records": [good[0], bad, good[1]]})
    assert out.response() == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert out.bad_messages == 1
    ((key, obj),) = s3.store.items()
    assert obj["meta"]["events"] == "3"
    assert len(etl_parse(key, obj).event_ids) == 3


def test_a_record_without_a_message_id_fails_the_whole_batch(s3):
    rec = record(line(1))
    del rec["messageId"]
    with pytest.raises(ValueError, match="messageId"):
        Batcher(Settings(raw_bucket=BUCKET), s3).handle({"Records": [record(line(2)), rec]})
    assert objects(s3) == {}


def test_the_handler_reads_its_environment_and_answers_in_the_mapping_shape(s3, monkeypatch, capsys):
    monkeypatch.setenv("RAW_BUCKET", BUCKET)
    monkeypatch.setattr(handler_module, "_BATCHER", None)
    answer = handler_module.handler({"Records": [record(line(1)), record(b"{}\n", mid="x", count=2)]}, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "x"}]}
    emf = [orjson.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    assert emf and emf[0]["BadMessages"] == 1.0 and emf[0]["ObjectsWritten"] == 1.0
    assert len(objects(s3)) == 1


def test_settings_need_a_bucket_and_a_safe_prefix():
    from batcher.settings import ConfigError
    with pytest.raises(ConfigError, match="RAW_BUCKET"):
        Settings.from_env({})
    with pytest.raises(ConfigError, match="RAW_PREFIX"):
        Settings.from_env({"RAW_BUCKET": "b", "RAW_PREFIX": "../x/"})
    assert Settings.from_env({"RAW_BUCKET": "b", "RAW_PREFIX": "raw"}).raw_prefix == "raw/"

