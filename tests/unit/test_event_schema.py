"""The event contract file: a valid draft 2020-12 schema, with examples, and the Lambda's
validators agreeing with the reference implementation on it.

The Lambda validates with jsonschema-rs (compiled, formats asserted) in two ways: the whole
request in one call (its fast path) and, when that fails, the envelope alone and each event
alone (for reasons by index). These tests are what make that safe: on hand-written cases and
on hypothesis-generated events and requests, both must give the verdict of the reference
``jsonschema`` Draft 2020-12 validator with its format checker.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import jsonschema
import pytest
from common.schema import EVENTS_V1, events_v1
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest.validation import Validators, compile_schema

pytestmark = pytest.mark.unit

SCHEMA = events_v1()
REFERENCE = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)
EVENT_REF = jsonschema.Draft202012Validator(
    {**SCHEMA["$defs"]["event"], "$defs": SCHEMA["$defs"]},
    format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
)
FAST = Validators(500)
NAMES = SCHEMA["$defs"]["event"]["properties"]["event_name"]["enum"]
GA4 = {"view_item_list", "select_item", "view_item", "add_to_cart", "remove_from_cart",
       "begin_checkout", "add_shipping_info", "add_payment_info", "purchase", "refund"}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def _event(name: str, **kw: object) -> dict:
    ev: dict = {"event_id": "0b8f6c1e-6f0e-4c0e-9a7a-3c3d2f1e0a11", "event_name": name,
                "event_ts": "2026-11-22T04:31:00.123Z", "anonymous_id": "a", "session_id": "s",
                "page": {"url": "https://shop.example.com/", "path": "/"}}
    if name not in ("page_view", "search", "refund"):
        ev["items"] = [{"item_id": "SKU-1", "price": 10, "quantity": 1}]
    if name == "search":
        ev["search_term"] = "dock"
    if name in ("purchase", "refund"):
        ev.update(transaction_id="T1", value=10, currency="EUR")
    ev.update(kw)
    return ev


def test_schema_file_is_a_valid_2020_12_schema_with_a_version_in_its_id() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"].endswith("/events.v1.json") and EVENTS_V1.name == "events.v1.json"


def test_event_names_are_the_ga4_ecommerce_names_plus_page_view_and_search() -> None:
    assert set(NAMES) == GA4 | {"page_view", "search"}


def test_limits_are_written_in_the_schema() -> None:
    ev = SCHEMA["$defs"]["event"]
    assert SCHEMA["properties"]["events"]["maxItems"] == 500
    assert ev["properties"]["items"]["maxItems"] == 100
    assert ev["additionalProperties"] is False
    assert SCHEMA["$defs"]["item"]["additionalProperties"] is False
    for name, prop in ev["properties"].items():
        if prop.get("type") == "string" and "enum" not in prop:
            assert "maxLength" in prop or "pattern" in prop, name


CASES = [
    (_event(n), True) for n in NAMES
] + [
    (_event("purchase", currency="eur"), False),
    (_event("purchase", items=[]), False),
    (_event("page_view", value=3), False),  # value without currency
    (_event("page_view", value=3, currency="USD"), True),
    (_event("search", search_term=""), False),
    (_event("view_item", items=[{"item_id": "x"}] * 101), False),
    (_event("page_view", event_ts="2026-02-30T00:00:00Z"), False),
    (_event("page_view", event_ts="2026-02-28T23:59:60Z"), False),
    (_event("page_view", event_ts="2026-11-22 04:31:00Z"), False),
    (_event("page_view", event_id="not-a-uuid"), False),
    (_event("page_view", ip_anon="1.2.3.0"), False),
    (_event("page_view", params={"ab_test": "B", "n": 1}), True),
    (_event("page_view", params={"Bad-Key": 1}), False),
    (_event("page_view", user_id=None), True),
    (_event("refund", items=[{"item_id": "x", "quantity": 0}]), False),
    ({"event_name": "page_view"}, False),
    ([], False),
]


@pytest.mark.parametrize(("event", "valid"), CASES)
def test_fast_validator_agrees_with_reference_on_cases(event: object, valid: bool) -> None:
    assert EVENT_REF.is_valid(event) is valid
    assert (FAST.event_error(event) is None) is valid


_text = st.text(max_size=8)
_events = st.fixed_dictionaries(
    {"event_id": st.sampled_from(["0b8f6c1e-6f0e-4c0e-9a7a-3c3d2f1e0a11", "x"]),
     "event_name": st.sampled_from([*NAMES, "other"]),
     "event_ts": st.sampled_from(["2026-11-22T04:31:00Z", "2026-02-29T00:00:00Z", "2024-02-29T00:00:00+01:00", "bad"]),
     "anonymous_id": st.sampled_from(["a", "", "a b"]),
     "session_id": st.just("s")},
    optional={
        "page": st.fixed_dictionaries({"url": st.sampled_from(["https://x/", "ftp://x"]),
                                       "path": st.sampled_from(["/", "x"])}),
        "items": st.lists(st.fixed_dictionaries({"item_id": st.sampled_from(["i", ""])},
                                                optional={"quantity": st.integers(-1, 3),
                                                          "price": st.floats(-1, 10, allow_nan=False)}),
                          max_size=3),
        "value": st.one_of(st.integers(-1, 5), st.text(max_size=2)),
        "currency": st.sampled_from(["EUR", "eu"]),
        "transaction_id": st.sampled_from(["T1", ""]),
        "search_term": _text,
        "user_id": st.one_of(st.none(), _text),
        "utm_source": st.one_of(_text, st.integers()),
        "extra": st.integers(),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_events)
def test_fast_validator_agrees_with_reference_on_generated_events(event: dict) -> None:
    assert (FAST.event_error(event) is None) is EVENT_REF.is_valid(event)


DATE_TIME = compile_schema(SCHEMA["properties"]["sent_at"])
REFERENCE_FORMAT = jsonschema.Draft202012Validator(
    SCHEMA["properties"]["sent_at"], format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.text(alphabet="0123456789-T:.Z+", min_size=10, max_size=32),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.builds("{:04d}-{:02d}-{:02d}T23:59:{:02d}Z".format, st.integers(0, 2100), st.integers(0, 13),
              st.integers(0, 32), st.integers(58, 61)),
))
def test_date_time_check_never_accepts_what_python_cannot_parse(value: str) -> None:
    from datetime import datetime

    if DATE_TIME.is_valid(value):
        datetime.fromisoformat(re.sub(r"\.(\d{6})\d+", r".\1", value))
    assert DATE_TIME.is_valid(value) is REFERENCE_FORMAT.is_valid(value)


@pytest.mark.parametrize(("value", "valid"), [
    ("2024-02-29T00:00:00Z", True), ("2026-02-29T00:00:00Z", False), ("2026-04-31T00:00:00Z", False),
    ("2026-06-30T23:59:60Z", False), ("0000-01-29T00:00:00Z", False), ("0000-01-01T00:00:00Z", False),
    ("0001-01-01T00:00:00Z", True), ("2026-11-22T04:31:00.123456789+05:30", True),
    ("2026-11-22T04:31:00.1234567890Z", False), ("2026-11-22t04:31:00Z", False),
])
def test_date_time_edge_cases(value: str, valid: bool) -> None:
    assert DATE_TIME.is_valid(value) is valid
    assert REFERENCE_FORMAT.is_valid(value) is valid


_requests = st.fixed_dictionaries(
    {"app_id": st.sampled_from(["shop-web", "", 7]),
     "sent_at": st.sampled_from(["2026-11-22T04:31:00Z", "2026-02-30T00:00:00Z"]),
     "events": st.lists(st.one_of(st.sampled_from([_event(n) for n in NAMES]), _events), max_size=4)},
    optional={"extra": st.integers()},
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_requests)
def test_fast_path_agrees_with_reference_and_with_the_slow_path(body: dict) -> None:
    """One call on the whole request == the reference; and == envelope ok + every event ok."""
    fast = FAST.request_valid(body)
    assert fast is REFERENCE.is_valid(body)
    if FAST.envelope_error(body) is None:
        assert fast is all(FAST.event_error(ev) is None for ev in body["events"])
    else:
        assert fast is False


def test_request_fast_path_leaves_the_count_limit_to_the_app() -> None:
    """More than the schema's 500 events is the app's 413 (MAX_EVENTS_PER_REQUEST), not a 400."""
    body = {"app_id": "shop-web", "sent_at": "2026-11-22T04:31:00Z",
            "events": [_event("page_view", event_id=f"0b8f6c1e-6f0e-4c0e-9a7a-{i:012d}") for i in range(501)]}
    assert FAST.request_valid(body) and FAST.envelope_error(body) is None


@pytest.mark.parametrize(("event", "expected"), [
    (_event("page_view", event_name="teleport"), 'event_name: "teleport" is not one of'),
    ({k: v for k, v in _event("purchase").items() if k != "transaction_id"}, '"transaction_id" is a required property'),
    ("just a string", '"just a string" is not of type "object"'),
    (_event("page_view", received_at="x"), "'received_at' was unexpected"),
    (_event("view_item", items=[{"item_id": "x", "quantity": 0}]), "items/0/quantity: 0 is less than the minimum of 1"),
    (_event("page_view", event_ts="2026-02-30T00:00:00Z"), 'event_ts: "2026-02-30T00:00:00Z" is not a "date-time"'),
    (_event("page_view", value=3), '"currency" is a required property'),
])
def test_reject_reasons_name_the_failing_field(event: object, expected: str) -> None:
    reason = FAST.event_error(event)
    assert reason is not None and expected in reason, reason


def test_long_values_are_shortened_in_reasons() -> None:
    reason = FAST.event_error(_event("view_item", items=[{"item_id": "x" * 50}] * 101))
    assert reason is not None and reason.startswith("items: [") and "has more than 100 items" in reason
    assert len(reason) < 120, reason


def test_envelope_validator_checks_only_the_envelope() -> None:
    good = {"app_id": "shop-web", "sent_at": "2026-11-22T04:31:00Z", "events": [{"x": 1}]}
    assert FAST.envelope_error(good) is None
    assert FAST.envelope_error({**good, "extra": 1}) is not None
    assert FAST.envelope_error({**good, "events": []}) is not None
    # The reference validator on the full schema rejects the bad event inside it.
    assert not REFERENCE.is_valid(good)


def test_docs_examples_are_valid_events() -> None:
    """Every ```json block in docs/events.md that is a request envelope validates."""
    import json

    text = DOCS.read_text()
    blocks = re.findall(r"```json\n(.*?)```", text, flags=re.S)
    envelopes = [json.loads(b) for b in blocks if '"app_id"' in b]
    assert len(envelopes) >= 3
    for env in envelopes:
        errors = [e.message for e in REFERENCE.iter_errors(copy.deepcopy(env))]
        assert errors == [], errors
