"""The two row builders against each other, and the field table against the event schema.

The reference (etl.strict_row) decides; the fast builder (etl.fast_row) may only decline. For
any event, valid or hostile: when the fast builder returns a row, the reference accepts the
event too and builds the very same COPY text, byte for byte; and a whole object parses to
the same bytes (events, ids, rejects, sessions, purchases) and the same rejects with the fast
builder switched off. The limits are read from the schema file here with plain json,
not through the module under test.
"""

from __future__ import annotations

import gzip
import json
from datetime import date, timedelta
from unittest import mock

import orjson
import pytest
from common.schema import EVENTS_V1
from etl import fields, parsing
from etl.copytext import copy_line
from etl.errors import Reject
from etl.fast_row import fast_row
from etl.parsing import parse_object, received_window
from etl.strict_row import event_row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.unit

DT = date(2026, 11, 22)
MAX_LATE, MAX_FUTURE = timedelta(days=30), timedelta(days=1)
WINDOW = received_window(DT, MAX_FUTURE)
SCHEMA = json.loads(EVENTS_V1.read_text())
EVENT_PROPS = SCHEMA["$defs"]["event"]["properties"]
PAGE_PROPS = SCHEMA["$defs"]["page"]["properties"]
ITEM_PROPS = SCHEMA["$defs"]["item"]["properties"]
TIME_COLUMNS = ("event_ts", "received_at", "sent_at")


def base() -> dict:
    return {"event_id": "0b8f6c1e-6f0e-4c0e-9a7a-3c3d2f1e0a11", "event_name": "view_item",
            "event_ts": "2026-11-22T04:30:59.500Z", "anonymous_id": "a-1", "session_id": "s-1",
            "page": {"url": "https://shop.example/p/1", "path": "/p/1", "title": "Mouse",
                     "referrer": "https://www.search.example/?q=mouse"},
            "items": [{"item_id": "SKU-1", "item_name": "Mouse", "item_brand": "Logi", "item_category": "Mice",
                       "price": 19.99, "quantity": 1}],
            "value": 19.99, "currency": "EUR",
            "app_id": "shop-web", "sent_at": "2026-11-22T04:31:00Z", "received_at": "2026-11-22T04:31:00.123Z",
            "request_id": "req-1", "ip_anon": "203.0.113.0", "user_agent": "Mozilla/5.0 (iPhone; Mobile)"}


def text_near(limit: int) -> st.SearchStrategy[str]:
    """Strings around a limit: empty, short, exactly at it, one over, with odd characters."""
    return st.one_of(
        st.just(""), st.text(max_size=6),
        st.integers(min_value=max(0, limit - 1), max_value=limit + 1).map(lambda n: "é" * n),
        st.sampled_from(["\x00", "\\u0000", "\ud800", "tab\there", "new\nline", "back\\slash"]),
    )


HOSTILE = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
                    st.lists(st.integers(), max_size=2),
                    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
TIMES = st.sampled_from([
    "2026-11-22T04:30:59.500Z", "2026-11-22T04:30:59Z", "2026-11-22t04:30:59.5z", "2026-11-22T04:30:59.123456789Z",
    "2026-11-22T05:30:59.500+01:00", "2026-11-21T23:59:59.999-05:00", "2026-02-30T00:00:00Z", "2026-11-22 04:30:59Z",
    "2026-10-20T04:30:59.500Z", "2026-11-24T04:30:59.500Z", "2026-11-23T01:00:00.000Z", "2026-11-20T23:00:00.000Z",
    "x" * 41, "",
    # Non-ASCII digits and a lower-case designator: \d-shaped, never canonical.
    "\u0662\u0660\u0662\u0666-11-22T04:30:59Z", "2026-11-22T04:30:59.\uff15Z", "2026-11-22T04:30:59.500z",
])
NUMBERS = st.one_of(st.sampled_from([0, 0.0, -0.0, 1, 10**9, 10**9 + 1, 1e9, -1, -0.01, 19.99, 1e300, True, 10**13]),
                    st.floats(min_value=-1, max_value=2e9, allow_nan=False), st.integers(-5, 2 * 10**9))


@st.composite
def items(draw) -> list:
    out = []
    for _ in range(draw(st.integers(0, 3))):
        it = dict(base()["items"][0])
        for key in draw(st.lists(st.sampled_from([*fields.ITEM_KEYS, "colour"]), max_size=3, unique=True)):
            choice = draw(st.integers(0, 3))
            if choice == 0:
                it.pop(key, None)
            elif key in ("price", "quantity"):
                it[key] = draw(st.one_of(NUMBERS, st.sampled_from([None, 10_000, 10_001, 1.0, "1"])))
            elif key == "colour":
                it[key] = "black"
            else:
                it[key] = draw(st.one_of(text_near(dict(fields.ITEM_TEXTS).get(key, fields.MAX_ITEM_ID_CHARS)),
                                         HOSTILE))
        if draw(st.integers(0, 4)) == 0:  # the same keys in another order
            keys = list(it)
            it = {k: it[k] for k in draw(st.permutations(keys))}
        out.append(it)
    if draw(st.integers(0, 9)) == 0:
        out = out[:1] * (fields.MAX_ITEMS + draw(st.integers(0, 1)))  # at the limit and one over
    return out


@st.composite
def events(draw) -> object:
    if draw(st.integers(0, 30)) == 0:
        return draw(HOSTILE)  # not an object at all
    ev = base()
    texts = {t.key: t for t in fields.TEXTS}
    keys = [*texts, "event_id", "event_name", "event_ts", "received_at", "sent_at", "value", "items", "page"]
    for key in draw(st.lists(st.sampled_from(keys), max_size=5, unique=True)):
        how = draw(st.integers(0, 4))
        target = ev["page"] if key in ("url", "path", "title", "referrer") and isinstance(ev.get("page"), dict) else ev
        if how == 0:
            target.pop(key, None)
        elif how == 1:
            target[key] = draw(HOSTILE)
        elif key in texts:
            target[key] = draw(text_near(texts[key].max_chars))
        elif key in TIME_COLUMNS:
            target[key] = draw(TIMES)
        elif key == "event_id":
            target[key] = draw(st.sampled_from([ev["event_id"].upper(), "not-a-uuid", ev["event_id"] + "0"]))
        elif key == "event_name":
            target[key] = draw(st.sampled_from(["purchase", "page_view", "bogus", "PAGE_VIEW"]))
        elif key == "value":
            target[key] = draw(NUMBERS)
        elif key == "items":
            target[key] = draw(items())
        else:
            target[key] = draw(st.sampled_from([None, {}, {"url": "https://x/"}, []]))
    return ev


def strict(ev: object):
    try:
        return event_row(ev, max_late=MAX_LATE, max_future=MAX_FUTURE, received_window=WINDOW)
    except Reject:
        return None


@settings(max_examples=1500, deadline=None)
@given(ev=events())
def test_the_fast_builder_only_takes_what_the_reference_takes_and_builds_the_same_row(ev):
    fast = fast_row(ev, {}, MAX_LATE, MAX_FUTURE, WINDOW)
    if fast is None:
        return
    ref = strict(ev)
    assert ref is not None, "the fast builder accepted an event the reference refuses"
    assert fast[1] == ref[1]
    assert fast[0] == ref[0]
    assert copy_line(fast[0], True) == copy_line(ref[0], True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(evs=st.lists(events(), min_size=1, max_size=8))
def test_an_object_parses_the_same_with_the_fast_builder_switched_off(evs):
    lines = []
    for ev in evs:
        try:
            lines.append(orjson.dumps(ev))
        except (TypeError, orjson.JSONEncodeError):
            continue
    body = gzip.compress(b"\n".join(lines) + b"\n")
    limits = {"max_decompressed": 1 << 24, "max_line": 1 << 20, "max_late": MAX_LATE, "max_future": MAX_FUTURE}
    with_fast = parse_object("k", "events", DT, None, None, [body], **limits)
    with mock.patch.object(parsing, "fast_row", lambda *_: None):
        reference = parse_object("k", "events", DT, None, None, [body], **limits)
    assert with_fast.copy_text == reference.copy_text and with_fast.id_text == reference.id_text
    assert with_fast.rejects == reference.rejects and with_fast.rejects_text == reference.rejects_text
    assert with_fast.event_ids == reference.event_ids and with_fast.days == reference.days
    assert with_fast.sessions == reference.sessions and with_fast.sessions_text == reference.sessions_text
    assert with_fast.purchases == reference.purchases and with_fast.purchases_text == reference.purchases_text
    assert with_fast.products == reference.products
    # Rows decode back to what the reference checked (the COPY text escaping is lossless).
    assert len(with_fast.rows) == len(with_fast.event_ids)


def test_a_timestamp_keeps_its_text_only_when_canonical():
    ev = base()
    ev["event_ts"], ev["sent_at"] = "2026-11-22T04:30:59.500Z", "2026-11-22T04:31:00.1234567Z"
    row, _ = event_row(ev, max_late=MAX_LATE, max_future=MAX_FUTURE, received_window=WINDOW)
    cols = dict(zip(fields.EVENT_COLUMNS, row, strict=True))
    assert cols["event_ts"] == "2026-11-22T04:30:59.500Z"
    assert cols["sent_at"] == "2026-11-22T04:31:00.123456+00:00"
    ev["event_ts"] = "2026-11-22T04:30:59.123456789Z"
    row, _ = event_row(ev, max_late=MAX_LATE, max_future=MAX_FUTURE, received_window=WINDOW)
    assert dict(zip(fields.EVENT_COLUMNS, row, strict=True))["event_ts"] == "2026-11-22T04:30:59.123456+00:00"
    assert fast_row(ev, {}, MAX_LATE, MAX_FUTURE, WINDOW) is None


def test_items_in_another_key_order_leave_the_fast_path_and_load_in_the_references_order():
    ev = base()
    ev["items"] = [dict(reversed(list(ev["items"][0].items())))]
    assert fast_row(ev, {}, MAX_LATE, MAX_FUTURE, WINDOW) is None
    row, _ = event_row(ev, max_late=MAX_LATE, max_future=MAX_FUTURE, received_window=WINDOW)
    items = dict(zip(fields.EVENT_COLUMNS, row, strict=True))["items"]
    assert list(orjson.loads(items)[0]) == ["item_id", "item_name", "item_brand", "item_category", "price", "quantity"]


def test_a_canonical_event_takes_the_fast_path_and_one_char_over_any_limit_is_refused_with_the_reason():
    assert fast_row(base(), {}, MAX_LATE, MAX_FUTURE, WINDOW) is not None
    for t in fields.TEXTS:
        ev = base()
        target = ev["page"] if t.source == "page" else ev
        target[t.key] = "x" * t.max_chars
        assert fast_row(ev, {}, MAX_LATE, MAX_FUTURE, WINDOW) is not None, t.key
        target[t.key] = "x" * (t.max_chars + 1)
        assert fast_row(ev, {}, MAX_LATE, MAX_FUTURE, WINDOW) is None, t.key
        with pytest.raises(Reject, match=f"invalid {t.key}: longer than {t.max_chars} characters"):
            event_row(ev, max_late=MAX_LATE, max_future=MAX_FUTURE, received_window=WINDOW)


def test_the_limits_are_the_schemas():
    for t in fields.TEXTS:
        if t.key in ("request_id", "user_agent", "ip_anon"):
            continue  # added by ingest, bounded by common.lake (tested with ingest's truncation)
        props = PAGE_PROPS if t.source == "page" else (EVENT_PROPS if t.key in EVENT_PROPS else SCHEMA["properties"])
        assert t.max_chars == props[t.key]["maxLength"], t.key
    assert EVENT_PROPS["items"]["maxItems"] == fields.MAX_ITEMS
    assert (EVENT_PROPS["value"]["minimum"], EVENT_PROPS["value"]["maximum"]) == fields.VALUE_RANGE
    assert (ITEM_PROPS["quantity"]["minimum"], ITEM_PROPS["quantity"]["maximum"]) == fields.QUANTITY_RANGE
    item_texts = ("item_name", "item_brand", "item_category")
    assert {k: ITEM_PROPS[k]["maxLength"] for k in item_texts} == dict(fields.ITEM_TEXTS)
    assert set(EVENT_PROPS["event_name"]["enum"]) == fields.EVENT_NAMES


def test_ingest_truncates_what_it_adds_to_the_etls_limits():
    from ingest.enrich import clean_user_agent, request_id

    ua = {t.key: t.max_chars for t in fields.TEXTS}
    assert len(clean_user_agent("u" * 10_000)) == ua["user_agent"]
    assert len(request_id("r" * 10_000, None)) == ua["request_id"]
