"""Hostile input at the HTTP boundary: hypothesis-generated bodies and headers.

Whatever arrives, the handler answers with a 2xx/4xx status and a JSON body, never a 5xx and
never an exception. The app is wired to the real S3 emulator bucket so accepted batches are
really written; example counts are modest to keep the suite fast.
"""

from __future__ import annotations

import base64
import gzip
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import api_event, envelope, make_event

pytestmark = pytest.mark.unit

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def _mutated_event(draw_value: object, key: str) -> dict:
    ev = make_event("purchase")
    ev[key] = draw_value
    return ev


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, bool, dict[str, str]]:
    kind = draw(st.sampled_from(["bytes", "json", "envelope", "mutated"]))
    headers: dict[str, str] = {}
    if kind == "bytes":
        raw = draw(st.binary(max_size=200))
    elif kind == "json":
        raw = json.dumps(draw(json_values)).encode()
    elif kind == "envelope":
        raw = json.dumps(envelope(draw(st.lists(json_values, min_size=1, max_size=5)))).encode()
    else:
        key = draw(st.sampled_from(["event_id", "event_ts", "items", "value", "page", "params", "currency"]))
        ev = _mutated_event(draw(json_values), key)
        raw = json.dumps(envelope([ev, make_event()])).encode()
    if draw(st.booleans()):
        raw = gzip.compress(raw)
        if draw(st.booleans()):
            headers["content-encoding"] = "gzip"
    b64 = draw(st.booleans()) or not _is_text(raw)
    body = base64.b64encode(raw).decode() if b64 else raw.decode()
    return body, b64, headers


def _is_text(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


def _assert_sane(resp: dict) -> None:
    assert 200 <= resp["statusCode"] < 500, resp
    if resp["body"]:
        json.loads(resp["body"])


@FUZZ
@given(bodies())
def test_fuzzed_bodies_never_yield_5xx(make_app, bodies) -> None:
    body, b64, headers = bodies
    event = api_event(raw="x", headers=headers)
    event["body"], event["isBase64Encoded"] = body, b64
    _assert_sane(_app(make_app).handle(event))


header_text = st.text(max_size=40)


@FUZZ
@given(
    headers=st.dictionaries(st.sampled_from(["content-type", "content-encoding", "user-agent", "origin",
                                             "x-forwarded-for", "Content-Encoding"]) | header_text,
                            header_text, max_size=5),
    source_ip=st.one_of(st.ip_addresses().map(str), header_text),
    method=st.sampled_from(["POST", "GET", "OPTIONS", "post", ""]) | header_text,
    path=st.sampled_from(["/v1/events", "/", "/v1/events/"]) | header_text,
    b64=st.booleans(),
)
def test_fuzzed_headers_methods_and_paths_never_yield_5xx(make_app, headers, source_ip, method, path, b64) -> None:
    event = api_event(envelope([make_event()]), headers=headers, source_ip=source_ip, method=method, path=path)
    if b64:
        event["body"] = base64.b64encode(event["body"].encode()).decode()
        event["isBase64Encoded"] = True
    _assert_sane(_app(make_app).handle(event))


@FUZZ
@given(st.dictionaries(st.sampled_from(["body", "headers", "requestContext", "rawPath", "isBase64Encoded"]),
                       json_values, max_size=5))
def test_malformed_api_gateway_events_never_raise(make_app, event) -> None:
    _assert_sane(_app(make_app).handle(event))


_APPS: dict[int, object] = {}


def _app(make_app):
    """One app per test function (hypothesis reruns the body; compiling once is enough)."""
    key = id(make_app)
    if key not in _APPS:
        _APPS.clear()
        _APPS[key] = make_app()
    return _APPS[key]
