"""The fast row builder on orjson's dicts: well-formed events, checked with a handful of C-level operations.

Almost every line is a well-formed event, and most of them never come here: the typed builder
(:mod:`etl.typed_row`, msgspec on the line's bytes) takes them first. This one takes what that
leaves to the orjson way and is still well-formed: lines with a backslash (escapes, which
the NUL rule has to see decoded) and lines msgspec refuses for a reason the reference does
not (an item key the warehouse drops, say). This path checks it against the same field table
as the reference (:mod:`etl.fields`): one type/length sweep over the text fields, a strict
timestamp shape, a cache for the per-request timestamps; at the first surprise it returns
None and the line goes through :func:`etl.strict_row.event_row`, which applies the same rules
one by one and raises the precise reason. So it accepts a subset of what the reference
accepts and builds the same bytes (timestamps in their original text when it is canonical,
:data:`~etl.strict_row.CANONICAL_TS`, as the reference keeps them; items as the original
list when its keys are the reference's, in its order); only the reference explains refusals.
``tests/unit/etl/test_row_builders.py`` holds it to that.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson

from etl import fields
from etl.derived import device_category, referrer_domain
from etl.fields import COL, EVENT_COLUMNS, EVENT_NAMES, TEXTS
from etl.strict_row import CANONICAL_TS, UUID

#: (key, limit, position, required) of the text fields read from the event and from its page.
_EV_TEXTS = tuple((t.key, t.max_chars, t.pos, t.required) for t in TEXTS if t.source == "event")
_PAGE_TEXTS = tuple((t.key, t.max_chars, t.pos, t.required) for t in TEXTS if t.source == "page")
_ITEM_KEYS = fields.ITEM_KEYS
_NUM = (int, float)
_N = len(EVENT_COLUMNS)
_EMPTY: dict = {}
_VALUE, _ITEMS = COL["value"], COL["items"]
_REFERRER, _REFERRER_DOMAIN = COL["page_referrer"], COL["referrer_domain"]
_UA, _DEVICE, _BOT = COL["user_agent"], COL["device_category"], COL["is_bot"]


def _fast_ts(value: object, cache: dict[str, datetime]) -> datetime | None:
    """A timestamp in the canonical shape (which PostgreSQL reads to the same instant)."""
    ts = cache.get(value) if value.__class__ is str else None  # type: ignore[arg-type]
    if ts is None:
        if value.__class__ is not str or not CANONICAL_TS.fullmatch(value):  # type: ignore[arg-type]
            return None
        try:
            ts = datetime.fromisoformat(value)  # type: ignore[arg-type]
        except ValueError:
            return None
        if len(cache) > 4096:
            cache.clear()
        cache[value] = ts  # type: ignore[index]
    return ts


def _in(v: object, bounds: tuple[float, float]) -> bool:
    return v.__class__ in _NUM and bounds[0] <= v <= bounds[1]  # type: ignore[operator]


def _fast_items(v: list) -> str | None:
    """Items JSON when every item has exactly the known keys, in the reference's order, with
    valid values, else None.

    The original list is dumped as is: with exactly those keys in that order it is the
    very text the reference writes.
    """
    if len(v) > fields.MAX_ITEMS:
        return None
    qlo, qhi = fields.QUANTITY_RANGE
    for it in v:
        if it.__class__ is not dict or tuple(it) != _ITEM_KEYS:
            return None
        i = it["item_id"]
        if i.__class__ is not str or not i or len(i) > fields.MAX_ITEM_ID_CHARS:
            return None
        for k, lim in fields.ITEM_TEXTS:
            s = it[k]
            if s is not None and (s.__class__ is not str or len(s) > lim):
                return None
        p, q = it["price"], it["quantity"]
        if (p is not None and not _in(p, fields.PRICE_RANGE)) or (
                q is not None and (q.__class__ is not int or not qlo <= q <= qhi)):
            return None
    return orjson.dumps(v).decode()


def _fill(get, specs: tuple, row: list) -> bool:
    """Copy the text fields ``specs`` names into ``row``; False at the first one out of bounds."""
    for key, limit, pos, required in specs:
        v = get(key)
        if v is None:
            if required:
                return False
        elif v.__class__ is not str or len(v) > limit or (required and not v):
            return False
        else:
            row[pos] = v
    return True


def _head(get, tcache: dict[str, datetime], max_late: timedelta, max_future: timedelta,
          window: tuple[datetime, datetime] | None) -> tuple[list, datetime] | None:
    event_id = get("event_id")
    if event_id.__class__ is not str or len(event_id) != 36 or not UUID.fullmatch(event_id):
        return None
    name = get("event_name")
    if name.__class__ is not str or name not in EVENT_NAMES:
        return None
    ts_raw, rec_raw, sent_raw = get("event_ts"), get("received_at"), get("sent_at")
    event_ts, received_at = _fast_ts(ts_raw, tcache), _fast_ts(rec_raw, tcache)
    if event_ts is None or received_at is None or (window is not None and not window[0] <= received_at < window[1]):
        return None
    if event_ts < received_at - max_late or event_ts > received_at + max_future:
        return None
    if sent_raw is not None and _fast_ts(sent_raw, tcache) is None:
        return None
    return [event_id.lower(), ts_raw, name, rec_raw, sent_raw], event_ts


def _money_and_items(get, row: list) -> bool:
    value = get("value")
    if value is not None:
        if not _in(value, fields.VALUE_RANGE):
            return False
        row[_VALUE] = repr(value)
    items = get("items")
    if items is not None:
        items = _fast_items(items) if items.__class__ is list else None
        if items is None:
            return False
        row[_ITEMS] = items
    return True


def fast_row(ev: object, tcache: dict[str, datetime], max_late: timedelta,
             max_future: timedelta, window: tuple[datetime, datetime] | None) -> tuple[tuple, datetime] | None:
    """The COPY-ready row and event_ts of a well-formed event, or None to let the reference decide."""
    if ev.__class__ is not dict:
        return None
    get = ev.get  # type: ignore[attr-defined]
    head = _head(get, tcache, max_late, max_future, window)
    if head is None:
        return None
    page = get("page")
    if page is None:
        page = _EMPTY
    elif page.__class__ is not dict:
        return None
    row: list = [None] * _N
    row[:5] = head[0]
    if not (_fill(get, _EV_TEXTS, row) and _fill(page.get, _PAGE_TEXTS, row) and _money_and_items(get, row)):
        return None
    row[_REFERRER_DOMAIN] = referrer_domain(row[_REFERRER])
    device = device_category(row[_UA])
    row[_DEVICE] = device
    row[_BOT] = "t" if device == "bot" else "f"
    return tuple(row), head[1]
