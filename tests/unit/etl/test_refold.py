"""The refold (an object's parse less some ids, derived from its first parse) against a real re-parse.

For any object and any set of ids to leave out, ``refold(parse_object(body), exclude)`` must
equal ``parse_object(body, exclude=exclude)`` field by field, in both forms of a parsed object
(full, and as a worker ships it to the loader), and a refold of a refold must equal one parse
leaving out both sets. Objects are drawn to make every part of the fold matter: ids repeated
within the object, a few sessions and users sharing event times (ties on the first event),
items with and without prices naming the same products, purchases by bots and people, values
that COPY text has to escape, and the hostile lines of the row-builder tests.
"""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from etl.errors import ObjectError
from etl.parsing import ParsedObject, parse_object
from etl.refold import refold
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.etl.test_row_builders import events as hostile_events
from tests.unit.etl.test_row_builders import raw_lines

pytestmark = pytest.mark.unit

DT = date(2026, 11, 22)
LIMITS = {"max_decompressed": 1 << 24, "max_line": 1 << 20, "max_late": timedelta(days=30),
          "max_future": timedelta(days=1)}
IDS = [f"0b8f6c1e-6f0e-4c0e-9a7a-{i:012x}" for i in range(12)]
ABSENT = "ffffffff-0000-4000-8000-000000000000"
TIMES = ["2026-11-22T04:30:59.500Z", "2026-11-22T04:30:59.5Z", "2026-11-22T06:30:59.500+02:00",
         "2026-11-21T23:59:59Z", "2026-11-22T10:00:00.000001Z", "2026-11-22T10:00:00.000001z",
         "2026-11-22T10:00:00.1234567Z", "2026-11-20T01:00:00-05:00"]
ESCAPED = ["plain", "back\\slash", "tab\there", "new\nline", "cr\rhere", "\\N", "é\\t", ""]
UAS = [None, "Mozilla/5.0 (iPhone; Mobile)", "Googlebot/2.1 (+http://www.google.com/bot.html)",
       "Mozilla/5.0 (Windows NT 10.0)", "curl/8 \\ tab\t"]


@st.composite
def items(draw) -> list[dict]:
    out = []
    for _ in range(draw(st.integers(0, 3))):
        it: dict = {"item_id": draw(st.sampled_from(["SKU-1", "SKU-2", "SKU\\3", "SKU\t4"]))}
        for key in ("item_name", "item_brand", "item_category"):
            if draw(st.booleans()):
                it[key] = draw(st.sampled_from([None, *ESCAPED]))
        if draw(st.booleans()):
            it["price"] = draw(st.sampled_from([None, 0, 10, 19.99, 1e-4, 10.0, -0.0]))
        if draw(st.booleans()):
            it["quantity"] = draw(st.integers(1, 3))
        if draw(st.integers(0, 5)) == 0:
            it["colour"] = "red"  # a key the warehouse drops: the orjson way
        out.append(it)
    return out


@st.composite
def event(draw) -> dict:
    """A valid event (mostly) from small pools, so ids, sessions, times and products collide."""
    ev = {"event_id": draw(st.sampled_from(IDS)), "event_name": draw(st.sampled_from(
              ["page_view", "purchase", "view_item", "add_to_cart", "purchase"])),
          "event_ts": draw(st.sampled_from(TIMES)), "received_at": "2026-11-22T10:00:01.000Z",
          "anonymous_id": draw(st.sampled_from(["a-1", "a\\2"])),
          "session_id": draw(st.sampled_from(["s-1", "s-2", "s\t3", "s\\4"]))}
    if draw(st.booleans()):
        ev["event_id"] = ev["event_id"].upper() if draw(st.booleans()) else ev["event_id"]
    if draw(st.booleans()):
        ev["user_id"] = draw(st.sampled_from([None, "u-1", "u\n2"]))
    if draw(st.booleans()):
        ev["page"] = {k: draw(st.sampled_from(ESCAPED)) for k in
                      draw(st.lists(st.sampled_from(["url", "path", "title"]), unique=True))}
        if draw(st.booleans()):
            ev["page"]["referrer"] = draw(st.sampled_from(["https://www.search.example/?q=x", "x\\y", ""]))
    ua = draw(st.sampled_from(UAS))
    if ua is not None:
        ev["user_agent"] = ua
    for key in ("utm_source", "utm_campaign", "transaction_id", "currency", "request_id"):
        if draw(st.integers(0, 3)) == 0:
            ev[key] = draw(st.sampled_from(ESCAPED))
    if draw(st.booleans()):
        ev["value"] = draw(st.sampled_from([19.99, 0, 10**9, 1.5e-3]))
    if draw(st.booleans()):
        ev["items"] = draw(items())
    return ev


def line_of(ev: object) -> bytes:
    try:
        return orjson.dumps(ev)
    except (TypeError, orjson.JSONEncodeError):
        return b"[]"


@st.composite
def bodies(draw) -> bytes:
    """A gzip JSON-lines object: valid events, hostile events and hand-written lines mixed."""
    lines = []
    for _ in range(draw(st.integers(1, 24))):
        how = draw(st.integers(0, 13))
        if how == 0:
            lines.append(line_of(draw(hostile_events())))
        elif how == 1:
            lines.append(draw(raw_lines()))
        elif how == 2:
            lines.append(b"")  # a blank line
        else:
            lines.append(line_of(draw(event())))
    return gzip.compress(b"\n".join(lines) + b"\n")


def parse(body: bytes, exclude=frozenset()) -> ParsedObject | None:
    try:
        return parse_object("k", "events", DT, "etag", len(body), [body], exclude=exclude, **LIMITS)
    except ObjectError:  # not JSON lines at all: nothing to refold
        return None


FIELDS = ("copy_text", "id_text", "event_ids", "sessions", "sessions_text", "purchases", "purchases_text",
          "products", "days", "min_ts", "max_ts", "excluded", "duplicates_in_object", "rejects", "rejects_text",
          "reject_rows", "lines", "declared", "stream_error", "decompressed", "key", "kind", "dt", "etag", "size")


def assert_same(got: ParsedObject, want: ParsedObject) -> None:
    for name in FIELDS:
        assert getattr(got, name) == getattr(want, name), name


def excludes(ids: list[str]) -> st.SearchStrategy[set[str]]:
    """Empty, every id, none of them, and (most often) any subset with ids from elsewhere."""
    if not ids:
        return st.sampled_from([set(), {ABSENT}])
    some = st.sets(st.sampled_from([*ids, ABSENT, IDS[0], IDS[-1]]), min_size=1)
    return st.one_of(st.sampled_from([set(), set(ids), {ABSENT}]), some, some, some)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies(), data=st.data())
def test_a_refold_equals_a_parse_that_leaves_the_ids_out(body, data):
    first = parse(body)
    if first is None:
        return
    exclude = data.draw(excludes(first.event_ids))
    want = parse(body, exclude)
    assert_same(refold(first, exclude), want)
    # the form a worker ships to the loader refolds into the shipped form of the same
    assert_same(refold(first.for_loader(), exclude), want.for_loader())
    # and the first parse is left as it was
    assert_same(first, parse(body))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies(), data=st.data())
def test_a_refold_of_a_refold_equals_one_parse_leaving_out_both(body, data):
    first = parse(body)
    if first is None:
        return
    one = data.draw(excludes(first.event_ids))
    two = data.draw(excludes(first.event_ids))
    assert_same(refold(refold(first.for_loader(), one), two), parse(body, one | two).for_loader())


def test_dropping_a_sessions_first_event_moves_its_start_its_first_row_and_its_place():
    """The cases the fold depends on, spelled out: the first event by (time, id) whatever the
    row order, the order sessions first appear in, products' first/last sighting and purchases."""
    a1 = {"event_id": IDS[1], "event_name": "page_view", "event_ts": "2026-11-22T04:00:00Z",
          "received_at": "2026-11-22T10:00:01.000Z", "anonymous_id": "a", "session_id": "A",
          "page": {"url": "https://first/"}, "items": [{"item_id": "P", "item_name": "old", "price": 1}]}
    b1 = {**a1, "event_id": IDS[2], "session_id": "B", "event_ts": "2026-11-22T05:00:00Z"}
    a2 = {**a1, "event_id": IDS[5], "event_ts": "2026-11-22T06:00:00Z", "page": {"url": "https://second/"},
          "items": [{"item_id": "P", "item_name": "new", "price": 2}], "event_name": "purchase"}
    a3 = {**a1, "event_id": IDS[4], "event_ts": "2026-11-22T05:30:00Z", "page": {"url": "https://third/"},
          "items": None}
    a4 = {**a3, "event_id": IDS[3], "page": {"url": "https://fourth/"}}  # a3's time, a lower id
    body = gzip.compress(b"\n".join(orjson.dumps(e) for e in (a1, b1, a2, a3, a4)))
    first = parse(body)
    got = refold(first, {IDS[1]})
    assert [s[0] for s in first.sessions] == ["A", "B"] and [s[0] for s in got.sessions] == ["B", "A"]
    a = got.sessions[1]
    assert (a[3], a[5], a[6], a[7]) == (IDS[3], 3, 2, "https://fourth/")
    five, six = datetime(2026, 11, 22, 5, tzinfo=UTC), datetime(2026, 11, 22, 6, tzinfo=UTC)
    assert got.products["P"][:3] == [five, six, "new"] and got.min_ts == five
    assert refold(first, {IDS[1], IDS[3]}).sessions[1][7] == "https://third/"
    dropped_purchase = refold(first, {IDS[5]})
    assert dropped_purchase.purchases_text == b"" and first.purchases_text.count(b"\n") == 1
    assert dropped_purchase.products["P"][1:3] == [five, "old"]
    for exclude in ({IDS[1]}, {IDS[1], IDS[3]}, {IDS[5]}):
        assert_same(refold(first, exclude), parse(body, exclude))


def _at(hour: int | None) -> datetime | None:
    """That hour on 22 Nov, -1 for 23:00 on the 21st."""
    if hour is None:
        return None
    return datetime(2026, 11, 21, 23, tzinfo=UTC) if hour < 0 else datetime(2026, 11, 22, hour, tzinfo=UTC)


def test_a_day_goes_only_with_its_last_row_and_the_min_and_max_move_only_with_theirs():
    evs = [{"event_id": IDS[i], "event_name": "page_view", "event_ts": ts, "received_at": "2026-11-22T10:00:01.000Z",
            "anonymous_id": "a", "session_id": "S"}
           for i, ts in enumerate(["2026-11-22T04:00:00Z", "2026-11-21T23:00:00Z", "2026-11-22T01:00:00+02:00",
                                   "2026-11-22T09:00:00Z", "2026-11-22T04:00:00Z"])]
    body = gzip.compress(b"\n".join(orjson.dumps(e) for e in evs))
    first = parse(body)
    assert first.days == {date(2026, 11, 21), date(2026, 11, 22)}
    # IDS[1] and IDS[2] are the same instant (23:00Z on the 21st) written two ways; IDS[0] and
    # IDS[4] share 04:00 on the 22nd
    both, nov22 = {date(2026, 11, 21), date(2026, 11, 22)}, {date(2026, 11, 22)}
    cases = {  # exclude -> (days, min_ts, max_ts): an hour on 22 Nov, -1 for 23:00 on the 21st
        frozenset({IDS[0]}): (both, -1, 9),
        frozenset({IDS[1]}): (both, -1, 9),
        frozenset({IDS[1], IDS[2]}): (nov22, 4, 9),
        frozenset({IDS[1], IDS[2], IDS[3]}): (nov22, 4, 4),
        frozenset(IDS[:5]): (set(), None, None),
    }
    for exclude, (days, lo, hi) in cases.items():
        got = refold(first, exclude)
        assert got.days == days
        assert (got.min_ts, got.max_ts) == (_at(lo), _at(hi))
        assert_same(got, parse(body, exclude))


class _Known:
    """The one query the loader's step 3 makes (which ids dw.event_ids has), answered from a set."""

    def __init__(self, known: set[str]) -> None:
        self.known, self.rows = known, []

    def execute(self, _sql: str, params: tuple) -> None:
        self.rows = [(i,) for i in params[0].strip("{}").split(",") if i in self.known]

    def fetchall(self) -> list[tuple]:
        return self.rows


def test_the_loader_refolds_and_re_parses_an_object_whose_copy_text_does_not_line_up():
    """Step 4 leaves out what the warehouse has and what an earlier object of the batch holds,
    by refolding; an object whose COPY text lacks a line for an id (never written so, but not
    trusted) is re-parsed from its body instead, and the result is the same either way."""
    from etl.loading import _without_known_ids
    from etl.refold import RefoldError

    evs = [{"event_id": IDS[i], "event_name": "page_view", "event_ts": TIMES[0],
            "received_at": "2026-11-22T10:00:01.000Z", "anonymous_id": "a", "session_id": f"s{i % 2}"}
           for i in range(4)]
    bodies = [gzip.compress(b"\n".join(orjson.dumps(e) for e in evs[:2])),
              gzip.compress(b"\n".join(orjson.dumps(e) for e in evs[1:]))]
    objs = [parse(b) for b in bodies]
    want = [parse(bodies[0], {IDS[0]}), parse(bodies[1], {IDS[0], IDS[1]})]
    got = _without_known_ids(_Known({IDS[0]}), objs)
    for g, w in zip(got, want, strict=True):
        assert_same(g, w)
    assert objs[1].event_ids == IDS[1:4]  # the caller's objects stay as parsed
    broken = parse(bodies[1])
    broken.copy_text = broken.copy_text.split(b"\n", 1)[1]
    with pytest.raises(RefoldError):
        refold(broken, {IDS[1]})
    assert_same(_without_known_ids(_Known(set()), [objs[0], broken])[1], want[1])
