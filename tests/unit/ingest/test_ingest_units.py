"""Pure pieces of the ingest Lambda: settings, body decoding limits, enrichment, keys, handler."""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from datetime import UTC, datetime

import boto3
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest import handler as handler_module
from ingest.body import BodyError, decode, gunzip_bounded
from ingest.enrich import anonymise_ip, clean_user_agent, rfc3339_ms
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


def test_lambda_handler_reads_its_environment_and_writes_to_s3(fresh_emulator, monkeypatch) -> None:
    boto3.client("s3").create_bucket(Bucket="handler-raw")
    monkeypatch.setenv("RAW_BUCKET", "handler-raw")
    monkeypatch.setenv("ALLOWED_APP_IDS", "shop-web")
    monkeypatch.setenv("RAW_PREFIX", "custom/v1/")
    monkeypatch.setattr(handler_module, "_APP", None)
    resp = handler_module.handler(api_event(envelope([make_event()])), None)
    assert resp["statusCode"] == 200 and json.loads(resp["body"])["accepted"] == 1
    assert len(list_objects("handler-raw", "custom/v1/dt=")) == 1
    monkeypatch.setattr(handler_module, "_APP", None)
