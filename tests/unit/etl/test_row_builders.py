"""The three row builders against each other, and the field table against the event schema.

The reference (etl.strict_row) decides; the fast builder (etl.fast_row, on orjson's dicts) and
the typed one (etl.typed_row, msgspec straight from the line's bytes) may only decline. For
any event, valid or hostile, and for hand-written lines orjson would never write (duplicate
keys, other number spellings, bytes that are not UTF-8, keys the contract allows or not):
when a builder returns a row, the reference accepts the line too and builds the very same
COPY text, byte for byte; and a whole object parses to the same bytes (events, ids, rejects,
sessions, purchases, products) with either or both switched off. The limits are read from
the schema file here with plain json, not through the modules under test.
"""

from __future__ import annotations

import gzip
import json
import math
from datetime import date, timedelta
from unittest import mock

import msgspec
import orjson
import pytest
from common.schema import EVENTS_V1
from etl import fields, parsing
from etl.copytext import copy_line
from etl.errors import ObjectError, Reject
from etl.fast_row import fast_row
from etl.parsing import parse_object, received_window
from etl.strict_row import event_row
from etl.typed_row import DECLINED, PRODUCT_ATTRS, TypedRows
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
def test_an_object_parses_the_same_with_the_fast_builders_switched_off(evs):
    lines = []
    for ev in evs:
        try:
            lines.append(orjson.dumps(ev))
        except (TypeError, orjson.JSONEncodeError):
            continue
    body = gzip.compress(b"\n".join(lines) + b"\n")
    assert_same_object(body)


def assert_same_object(body: bytes) -> None:
    """Parsed with every builder, with the typed one off, and with the reference alone: the same."""
    limits = {"max_decompressed": 1 << 24, "max_line": 1 << 20, "max_late": MAX_LATE, "max_future": MAX_FUTURE}

    def parse():
        try:
            return parse_object("k", "events", DT, None, None, [body], **limits)
        except ObjectError as exc:  # not JSON lines at all: refused whole, the same way by each
            return str(exc)

    everything = parse()
    with mock.patch.object(TypedRows, "row", lambda *_: None):
        fast_only = parse()
        with mock.patch.object(parsing, "fast_row", lambda *_: None):
            reference = parse()
    for with_fast in (everything, fast_only):
        if isinstance(reference, str):
            assert with_fast == reference
        else:
            assert_same_parse(with_fast, reference)


def assert_same_parse(with_fast, reference) -> None:
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


def test_a_canonical_event_takes_the_fast_paths_and_one_char_over_any_limit_is_refused_with_the_reason():
    assert fast_row(base(), {}, MAX_LATE, MAX_FUTURE, WINDOW) is not None
    assert typed(orjson.dumps(base())) is not None
    for t in fields.TEXTS:
        ev = base()
        target = ev["page"] if t.source == "page" else ev
        target[t.key] = "é" * t.max_chars  # characters, not UTF-8 bytes
        assert fast_row(ev, {}, MAX_LATE, MAX_FUTURE, WINDOW) is not None, t.key
        assert typed(orjson.dumps(ev)) is not None, t.key
        target[t.key] = "é" * (t.max_chars + 1)
        assert fast_row(ev, {}, MAX_LATE, MAX_FUTURE, WINDOW) is None, t.key
        assert typed(orjson.dumps(ev)) is None, t.key
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


# --- the typed builder, fed bytes ---------------------------------------------------------


def typed(line: bytes):
    try:
        return TypedRows(MAX_LATE, MAX_FUTURE, WINDOW).row(line)
    except DECLINED:
        return None


def assert_typed_agrees(line: bytes) -> bool:
    """The typed row of ``line``, if any, is the reference's (True), or typed declined (False)."""
    got = typed(line)
    if got is None:
        return False
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        pytest.fail(f"the typed builder accepted a line orjson refuses: {line!r}")
    ref = strict(obj)
    assert ref is not None, f"the typed builder accepted a line the reference refuses: {line!r}"
    assert got[1] == ref[1] and got[0] == ref[0]
    assert copy_line(got[0], False) == copy_line(ref[0], True)
    assert [PRODUCT_ATTRS(it) for it in got[2] or []] == [
        (it["item_id"], it.get("item_name"), it.get("item_brand"), it.get("item_category"), it.get("price"))
        for it in obj.get("items") or []]
    return True


class Spelled(bytes):
    """JSON text written as it is (a number spelled some way, a string with raw bytes)."""


def spell(v: object, comma: bytes = b",", colon: bytes = b":") -> bytes:
    """JSON written by hand: a list of pairs is an object that may repeat a key."""
    if isinstance(v, Spelled):
        return bytes(v)
    pairs = list(v.items()) if isinstance(v, dict) else v if isinstance(v, list) and v and all(
        isinstance(p, tuple) for p in v) else None
    if pairs is not None:
        return b"{" + comma.join(spell(k) + colon + spell(x, comma, colon) for k, x in pairs) + b"}"
    if isinstance(v, list):
        return b"[" + comma.join(spell(x, comma, colon) for x in v) + b"]"
    if v.__class__ is int and not -(2**63) <= v < 2**64:  # type: ignore[operator]
        return str(v).encode()  # orjson writes no such integer; a client can
    if isinstance(v, str):  # a lone surrogate as raw bytes (not UTF-8), as a careless writer puts it
        return json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return orjson.dumps(v)


NUMBER_TEXTS = [b"1e2", b"1E2", b"1.0", b"1", b"-0", b"-0.0", b"0.1e1", b"1e400", b"-1e400", b"1e-400", b"19.990",
                b"1.999e1", b"100000000000000000000000", b"18446744073709551616", b"1000000000", b"1000000000.0000001",
                b"10000", b"10001", b"0", b"true", b"false", b"null", b'"1"']
STRANGE_BYTES = [b"\xff", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\xc3\xa9", b"\xf0\x9f\x98\x80", b"\x7f",
                 b"\xe2\x80\xa8", b"\xc3"]
EXTRA_PAIRS = [("params", {"a": "b", "n": 1, "t": True}), ("params", {"a": [1]}),
               ("params", [("a", Spelled(b"1e400"))]), ("params", [("a", Spelled(b"100000000000000000000000"))]),
               ("coupon", "X"), ("coupon", 5),
               ("tax", 1.5), ("tax", Spelled(b"1e400")), ("tax", True), ("colour", "black"), ("item_list_id", None),
               ("shipping", Spelled(b"-0"))]
ITEM_PAIRS = [("item_variant", "red"), ("colour", "red"), ("price", None), ("quantity", 2), ("item_name", None)]


@st.composite
def raw_lines(draw) -> bytes:
    """Lines orjson would never write: repeated keys, other spellings, raw bytes, extra keys."""
    ev = draw(events())
    if not isinstance(ev, dict):
        try:
            return orjson.dumps(ev)
        except orjson.JSONEncodeError:
            return b"[]"
    pairs: list[tuple] = list(ev.items())
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.integers(0, 6))
        at = draw(st.integers(0, len(pairs)))
        if how == 0 and pairs:  # the same key again, before or after, with a good or a bad value
            key = pairs[draw(st.integers(0, len(pairs) - 1))][0]
            other = draw(st.one_of(HOSTILE, st.just(base().get(key)), text_near(8), TIMES))
            pairs.insert(at, (key, other))
        elif how == 1:
            pairs.insert(at, ("value", Spelled(draw(st.sampled_from(NUMBER_TEXTS)))))
        elif how == 2:
            item = [("item_id", "SKU-2"), ("price", Spelled(draw(st.sampled_from(NUMBER_TEXTS)))),
                    ("quantity", Spelled(draw(st.sampled_from(NUMBER_TEXTS))))]
            extra = draw(st.lists(st.sampled_from(ITEM_PAIRS), max_size=3))
            item[draw(st.integers(0, 2)):draw(st.integers(0, 3))] = extra
            pairs.insert(at, ("items", [item] if item else []))
        elif how == 3:
            pairs.insert(at, draw(st.sampled_from(EXTRA_PAIRS)))
        elif how == 4:
            pairs.insert(at, ("page", draw(st.sampled_from(
                [None, [], {}, [("url", "https://a/"), ("url", "x" * 3000)], [("url", "x" * 3000), ("url", "https://a/")],
                 [("title", "t"), ("bogus", 1)], [("referrer", "https://www.r.example/"), ("referrer", None)]]))))
        elif how == 5:  # raw bytes in a string the row keeps, one it ignores, or a key
            bad = draw(st.sampled_from(STRANGE_BYTES))
            where = draw(st.sampled_from(["user_agent", "coupon", "key"]))
            text = Spelled(b'"a' + bad + b'b"')
            pairs.insert(at, (text, 1) if where == "key" else (where, text))
        else:
            pairs = draw(st.permutations(pairs))
    comma, colon = draw(st.sampled_from([(b",", b":"), (b", ", b": "), (b" ,\t", b"\t: ")]))
    line = spell(pairs, comma, colon)
    return b" " + line + b"\t" if draw(st.booleans()) else line


@settings(max_examples=1500, deadline=None)
@given(ev=events())
def test_the_typed_builder_only_takes_what_the_reference_takes_and_builds_the_same_row(ev):
    try:
        line = orjson.dumps(ev)
    except (TypeError, orjson.JSONEncodeError):
        return
    if b"\\" not in line:  # the parser keeps such lines off the typed path
        assert_typed_agrees(line)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=raw_lines())
def test_hand_written_lines_are_taken_only_as_the_reference_takes_them(line):
    if b"\\" not in line:
        assert_typed_agrees(line)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(raw_lines(), min_size=1, max_size=8))
def test_an_object_of_hand_written_lines_parses_the_same_with_the_fast_builders_switched_off(lines):
    assert_same_object(gzip.compress(b"\n".join(lines) + b"\n"))


def test_a_repeated_key_keeps_its_last_value_as_orjson_does():
    ev = base()
    line = spell([("session_id", "s-first"), *ev.items(), ("value", Spelled(b"1e1")),
                  ("page", [("url", "https://first/"), ("url", "https://a/b")])])
    assert assert_typed_agrees(line)
    row = dict(zip(fields.EVENT_COLUMNS, typed(line)[0], strict=True))
    assert (row["session_id"], row["value"], row["page_url"], row["page_path"]) == ("s-1", "10.0", "https://a/b", None)


def test_items_in_any_key_order_take_the_typed_path_and_load_in_the_references_order():
    ev = base()
    ev["items"] = [dict(reversed(list(ev["items"][0].items()))), {"quantity": 3, "item_id": "SKU-2"}]
    assert assert_typed_agrees(orjson.dumps(ev))
    items = orjson.loads(dict(zip(fields.EVENT_COLUMNS, typed(orjson.dumps(ev))[0], strict=True))["items"])
    assert [list(it) for it in items] == [list(fields.ITEM_KEYS)] * 2
    assert items[1] == {"item_id": "SKU-2", "item_name": None, "item_brand": None, "item_category": None,
                        "price": None, "quantity": 3}


@pytest.mark.parametrize("line", [
    spell([*base().items(), ("colour", "black")]),  # a key the contract does not know
    spell([*base().items(), ("items", [[("item_id", "S"), ("item_variant", "red")]])]),  # one the warehouse drops
    spell([*base().items(), ("coupon", Spelled(b'"a\xffb"'))]),  # not UTF-8, in a value the row ignores
    spell([*base().items(), ("tax", Spelled(b"1e400"))]),  # orjson refuses infinity
    spell([*base().items(), ("value", True)]),
    spell([*base().items(), ("items", [[("item_id", "S"), ("quantity", Spelled(b"1.0"))]])]),
])
def test_what_the_typed_builder_leaves_to_the_orjson_path(line):
    assert typed(line) is None


@settings(max_examples=3000, deadline=None)
@given(price=st.floats(min_value=fields.PRICE_RANGE[0], max_value=fields.PRICE_RANGE[1]))
def test_msgspec_writes_every_number_in_range_as_orjson_does(price):
    # The typed builder re-encodes items with msgspec, the reference with orjson.
    assert math.isfinite(price)
    assert msgspec.json.encode([price, int(price)]) == orjson.dumps([price, int(price)])
