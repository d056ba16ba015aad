"""Pure pieces of the ingest Lambda: settings, body decoding limits, enrichment, keys, handler."""

from __future__ import annotations

import base64
import gzip
import json
import math
import zlib
from datetime import UTC, datetime

import boto3
import orjson
import pytest
from common.text import value_problem
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest import handler as handler_module
from ingest.body import BodyError, decode, gunzip_bounded, parse_json
from ingest.enrich import anonymise_ip, clean_user_agent, rfc3339_ms
from ingest.rejects import MAX_PAYLOAD_DEPTH, storable
from ingest.settings import ConfigError, Settings
from ingest.storage import enriched_jsonl, gzip_bytes, jsonl_gz, object_key
from ingest_helpers import api_event, envelope, list_objects, make_event

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("203.0.113.57", "203.0.113.0"),
        ("10.0.0.255", "10.0.0.0"),
        ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::"),
        ("::ffff:198.51.100.7", "198.51.100.0"),
        ("::1", "::"),
        ("not an ip", None),
        ("", None),
        (None, None),
        ("1.2.3.4, 5.6.7.8", None),
        ("x" * 1000, None),
    ],
)
def test_ip_is_truncated_to_24_or_48_bits(raw, expected) -> None:
    assert anonymise_ip(raw) == expected


def _reference_anonymise(raw: str) -> str | None:
    """The slow, obviously right rule: ipaddress all the way."""
    import ipaddress

    try:
        ip = ipaddress.ip_address(raw.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.ip_addresses().map(str),
    st.lists(st.integers(0, 300).map(str) | st.sampled_from(["01", "00", "1\u0661", "", " 1", "+1"]),
             min_size=3, max_size=5).map(".".join),
    st.text(alphabet="0123456789.: abcdef", max_size=20),
))
def test_ipv4_fast_path_agrees_with_ipaddress(raw: str) -> None:
    assert anonymise_ip(raw) == _reference_anonymise(raw)


def test_user_agent_is_bounded_and_optional() -> None:
    assert clean_user_agent("a" * 2000) == "a" * 512
    assert clean_user_agent("") is None and clean_user_agent(3) is None


def test_received_at_is_utc_with_milliseconds() -> None:
    ts = datetime(2026, 11, 22, 4, 31, 0, 123999, tzinfo=UTC)
    assert rfc3339_ms(ts) == "2026-11-22T04:31:00.123Z"


def test_object_key_partitions_by_utc_received_time() -> None:
    ts = datetime(2026, 1, 2, 23, 59, 59, 999000, tzinfo=UTC)
    uid = "0b8f6c1e-6f0e-4c0e-9a7a-3c3d2f1e0a11"
    assert object_key("events/v1/", ts, uid=uid) == f"events/v1/dt=2026-01-02/hr=23/1767398399999-{uid}.jsonl.gz"
    assert object_key("events/v1/", ts, rejected=True, uid=uid).startswith("events/v1/rejected/dt=2026-01-02/hr=23/")


def test_jsonl_gz_is_deterministic_and_one_line_per_event() -> None:
    rows = [{"a": 1}, {"b": "é"}]
    data = jsonl_gz(rows)
    assert data == jsonl_gz(rows)
    assert [json.loads(x) for x in gzip.decompress(data).splitlines()] == rows


EXTRA = {"app_id": "shop-web", "sent_at": "2026-11-22T04:31:00Z", "received_at": "2026-11-22T04:31:00.123Z",
         "request_id": "req-1", "ip_anon": "203.0.113.0", "user_agent": 'Mozilla/5.0 "quoted" \u00e9'}
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=8).filter(lambda k: k not in EXTRA), _json, max_size=6),
                max_size=5),
       st.sampled_from([None, "198.51.100.0"]))
def test_enriched_lines_are_byte_for_byte_the_merged_event(events, ip) -> None:
    """The lake contract: each line is orjson.dumps({**event, **enrichment}) plus a newline."""
    extra = {**EXTRA, "ip_anon": ip}
    expected = b"".join(orjson.dumps({**ev, **extra}) + b"\n" for ev in events)
    assert enriched_jsonl(events, extra) == expected


def test_gzip_is_one_standard_member_and_deterministic() -> None:
    data = b"".join(orjson.dumps(make_event(), option=orjson.OPT_APPEND_NEWLINE) for _ in range(50))
    packed = gzip_bytes(data)
    assert packed == gzip_bytes(data) and packed[:2] == b"\x1f\x8b"
    assert zlib.decompress(packed, wbits=31) == data and gzip.decompress(packed) == data
    assert len(packed) < len(data) / 3


def test_settings_from_env_defaults_and_validation() -> None:
    s = Settings.from_env({"RAW_BUCKET": "b", "ALLOWED_APP_IDS": " a, b ,,"})
    assert (s.raw_prefix, s.max_body_bytes, s.max_events) == ("events/v1/", 1048576, 500)
    assert s.allowed_app_ids == frozenset({"a", "b"})
    assert Settings.from_env({"RAW_BUCKET": "b", "RAW_PREFIX": "x/y"}).raw_prefix == "x/y/"
    with pytest.raises(ConfigError, match="RAW_BUCKET"):
        Settings.from_env({})
    with pytest.raises(ConfigError, match="MAX_BODY_BYTES"):
        Settings.from_env({"RAW_BUCKET": "b", "MAX_BODY_BYTES": "lots"})
    with pytest.raises(ConfigError, match="MAX_EVENTS_PER_REQUEST"):
        Settings.from_env({"RAW_BUCKET": "b", "MAX_EVENTS_PER_REQUEST": "0"})
    with pytest.raises(ConfigError, match="RAW_PREFIX"):
        Settings.from_env({"RAW_BUCKET": "b", "RAW_PREFIX": "../etc/"})


def test_gunzip_stops_one_byte_past_the_limit() -> None:
    bomb = gzip.compress(b"0" * 50_000_000, 9)
    with pytest.raises(BodyError) as exc:
        gunzip_bounded(bomb, 1000)
    assert exc.value.status == 413
    assert gunzip_bounded(gzip.compress(b"x" * 1000), 1000) == b"x" * 1000


def test_gzip_edge_cases_are_400() -> None:
    full = gzip.compress(b'{"a": 1}')
    for bad in (full[:-6], full + b"junk", zlib.compress(b"{}")):
        with pytest.raises(BodyError) as exc:
            decode(base64.b64encode(bad).decode(), is_base64=True, content_encoding="gzip", max_bytes=1000)
        assert exc.value.status == 400


def test_unsupported_content_encoding_is_400() -> None:
    with pytest.raises(BodyError) as exc:
        decode("{}", is_base64=False, content_encoding="br", max_bytes=1000)
    assert exc.value.status == 400


def test_multibyte_text_body_limit_counts_bytes() -> None:
    body = '"' + "é" * 600 + '"'  # 602 chars, 1202 bytes
    with pytest.raises(BodyError) as exc:
        decode(body, is_base64=False, content_encoding=None, max_bytes=1000)
    assert exc.value.status == 413


@pytest.mark.usefixtures("fresh_emulator")
def test_lambda_handler_reads_its_environment_and_writes_to_s3(monkeypatch) -> None:
    boto3.client("s3").create_bucket(Bucket="handler-raw")
    monkeypatch.setenv("RAW_BUCKET", "handler-raw")
    monkeypatch.setenv("ALLOWED_APP_IDS", "shop-web")
    monkeypatch.setenv("RAW_PREFIX", "custom/v1/")
    monkeypatch.setattr(handler_module, "_APP", None)
    resp = handler_module.handler(api_event(envelope([make_event()])), None)
    assert resp["statusCode"] == 200 and json.loads(resp["body"])["accepted"] == 1
    assert len(list_objects("handler-raw", "custom/v1/dt=")) == 1
    monkeypatch.setattr(handler_module, "_APP", None)


# -- bodies orjson refuses for one value, and reject payloads orjson cannot write -------------
json_ish = st.one_of(
    st.text(alphabet='[]{}",:0123456789eE.+- \tnulltruefalse\\uUd8Dd00NaIfiy\x00\ufeff', max_size=30),
    _json.map(lambda v: json.dumps(v)).flatmap(
        lambda t: st.integers(0, len(t)).map(lambda i: t[:i] + '"\\ud800"' + t[i:])),
    st.sampled_from(["1e400", "[-1e400]", '"\\udc00"', '{"a": 1e999}', "NaN", "[Infinity]", "\ufeff{}",
                     "9" * 400, '"\\ud800\\udc00"', "[1,]", "01", "1.", ".5", "+1"]),
)


@settings(max_examples=1500, deadline=None)
@given(json_ish)
def test_the_fallback_parser_reads_only_what_orjson_refuses_for_a_value(text: str) -> None:
    """A differential test: orjson and the stdlib agree on the grammar, so whenever orjson
    refuses a text the fallback reads, the value holds what the text rule rejects."""
    data = text.encode("utf-8", "surrogatepass")
    try:
        orjson.loads(data)
        return  # orjson read it: the fallback is not involved
    except orjson.JSONDecodeError:
        pass
    try:
        value, lenient = parse_json(data)
    except BodyError as exc:
        assert exc.status == 400 and exc.reason.startswith("body is not valid JSON")
        return
    assert lenient and value_problem(value) is not None, (text, value)


_odd = st.recursive(
    st.none() | st.booleans() | st.sampled_from([math.inf, -math.inf, 2**64, -(2**63) - 1, 10**400, 1.5, 0])
    | st.just(5000).map(lambda n: 10**n)  # more digits than str() converts (a strategy's repr would)
    | st.lists(st.sampled_from(["a", "\x00", "\ud800", "\udfff", "\U0001f600", "\\u0000"]), max_size=4).map("".join),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["k", "\ud800", "\x00"]), inner,
                                                                max_size=3),
    max_leaves=10,
)


def _nested(depth: int, leaf: object) -> object:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


@settings(max_examples=500, deadline=None)
@given(st.one_of(_odd, st.tuples(st.integers(1, 1000), _odd).map(lambda t: _nested(*t))))
def test_a_reject_payload_is_always_written_and_untouched_when_orjson_writes_it_as_is(value) -> None:
    payload, sanitised = storable(value)
    written = orjson.dumps({"payload": payload})  # the reject record: never raises
    try:
        faithful = orjson.loads(orjson.dumps(value)) == value and _levels(value) <= MAX_PAYLOAD_DEPTH
    except (orjson.JSONEncodeError, RecursionError):
        faithful = False
    assert sanitised is not faithful
    if not sanitised:
        assert payload is value
    assert orjson.loads(written)["payload"] == payload or sanitised


def _levels(v: object) -> int:
    """Container levels of ``v``: 0 for a scalar, 1 for ``[]``, 3 for an event with items."""
    levels, level = 0, [v]
    while containers := [x for x in level if isinstance(x, list | dict)]:
        levels += 1
        level = [c for x in containers for c in (x.values() if isinstance(x, dict) else x)]
    return levels
