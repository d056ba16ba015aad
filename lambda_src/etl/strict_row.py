"""The reference row builder: every rule of the field table (:mod:`etl.fields`) checked one by
one, and a refused event told why (:class:`~etl.errors.Reject`).

:mod:`etl.fast_row` accepts a subset of what this accepts and builds the same values; a line
it does not take comes here. The row is COPY-ready: every field text or None (numbers as
``repr``, booleans as ``t``/``f``), in :data:`~etl.fields.EVENT_COLUMNS` order.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import orjson

from etl import fields
from etl.derived import device_category, referrer_domain
from etl.errors import Reject
from etl.fields import COL, EVENT_COLUMNS, EVENT_NAMES, TEXTS, Text

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TS = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})", re.IGNORECASE
)
_FRACTION = re.compile(r"(\.\d{6})\d+")
#: The timestamp text a row keeps as it came: ASCII digits, upper-case ``T`` and ``Z``, at most
#: microseconds, which PostgreSQL reads to the same instant as Python does. Any other form
#: this accepts (lower case, nanoseconds) is written as the parsed value's ``isoformat``. The
#: fast builder takes only this form, so both write the same bytes for every event.
CANONICAL_TS = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})")
OUTSIDE_PARTITION = "received_at outside the object's dt partition (beyond the clock tolerance)"


def parse_ts(value: object, name: str) -> datetime:
    """An aware datetime from an RFC 3339 string, or :class:`Reject`."""
    if not isinstance(value, str) or len(value) > fields.MAX_TS_CHARS or not _TS.fullmatch(value):
        raise Reject(f"invalid {name}: not an RFC 3339 timestamp")
    text = _FRACTION.sub(r"\1", value)  # PostgreSQL and Python keep microseconds
    try:
        ts = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Reject(f"invalid {name}: {exc}") from exc
    return ts


def ts_text(value: str, ts: datetime) -> str:
    """The COPY text of a timestamp accepted as ``value`` and parsed to ``ts``."""
    return value if CANONICAL_TS.fullmatch(value) else ts.isoformat()


def _opt_str(obj: dict, key: str, limit: int) -> str | None:
    v = obj.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise Reject(f"invalid {key}: expected a string")
    if len(v) > limit:
        raise Reject(f"invalid {key}: longer than {limit} characters")
    return v


def _text(obj: dict, t: Text) -> str | None:
    v = _opt_str(obj, t.key, t.max_chars)
    if t.required and not v:
        raise Reject(f"missing {t.key}")
    return v


def _money(v: object, name: str, bounds: tuple[float, float]) -> float | int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise Reject(f"invalid {name}: expected a number")
    if not bounds[0] <= v <= bounds[1]:
        raise Reject(f"invalid {name}: out of range")
    return v


def _item(it: object) -> dict:
    if not isinstance(it, dict):
        raise Reject("invalid items: every item must be an object")
    item_id = it.get("item_id")
    if not isinstance(item_id, str) or not item_id or len(item_id) > fields.MAX_ITEM_ID_CHARS:
        raise Reject(f"invalid items: item_id must be a non-empty string of at most {fields.MAX_ITEM_ID_CHARS}")
    q = it.get("quantity")
    lo, hi = fields.QUANTITY_RANGE
    if q is not None and (isinstance(q, bool) or not isinstance(q, int) or not lo <= q <= hi):
        raise Reject(f"invalid items: quantity must be an integer {lo}..{hi}")
    return {
        "item_id": item_id,
        **{k: _opt_str(it, k, limit) for k, limit in fields.ITEM_TEXTS},
        "price": _money(it.get("price"), "items.price", fields.PRICE_RANGE),
        "quantity": q,
    }


def _items(v: object) -> str | None:
    """The items re-serialised with the known keys only (:data:`~etl.fields.ITEM_KEYS`)."""
    if v is None:
        return None
    if not isinstance(v, list) or len(v) > fields.MAX_ITEMS:
        raise Reject(f"invalid items: expected a list of at most {fields.MAX_ITEMS} objects")
    return orjson.dumps([_item(it) for it in v]).decode()


def _head(ev: dict, max_late: timedelta, max_future: timedelta,
          received_window: tuple[datetime, datetime] | None) -> tuple[list, datetime]:
    """event_id, event_ts, event_name, received_at, sent_at (checked), and event_ts itself."""
    event_id = ev.get("event_id")
    if not isinstance(event_id, str) or not UUID.fullmatch(event_id):
        raise Reject("invalid event_id: not a UUID")
    name = ev.get("event_name")
    if not isinstance(name, str) or name not in EVENT_NAMES:  # a list is unhashable
        raise Reject("invalid event_name")
    ts_raw, rec_raw = ev.get("event_ts"), ev.get("received_at")
    event_ts = parse_ts(ts_raw, "event_ts")
    received_at = parse_ts(rec_raw, "received_at")
    if received_window is not None and not received_window[0] <= received_at < received_window[1]:
        raise Reject(OUTSIDE_PARTITION)
    if event_ts < received_at - max_late:
        raise Reject("event_ts too old: before received_at minus the late-event window")
    if event_ts > received_at + max_future:
        raise Reject("event_ts in the future relative to received_at")
    sent_raw = ev.get("sent_at")
    sent_at = ts_text(sent_raw, parse_ts(sent_raw, "sent_at")) if sent_raw is not None else None
    return [event_id.lower(), ts_text(ts_raw, event_ts), name, ts_text(rec_raw, received_at), sent_at], event_ts


def event_row(ev: object, *, max_late: timedelta, max_future: timedelta,
              received_window: tuple[datetime, datetime] | None = None) -> tuple[tuple, datetime]:
    """Validate one accepted event: its COPY-ready staging row and its event_ts.

    ``received_window`` is the half-open range ``received_at`` must fall in (the object's
    dt day widened by the clock tolerance); outside it the event is refused rather than
    given a partition of its own.
    """
    if not isinstance(ev, dict):
        raise Reject("not a JSON object")
    head, event_ts = _head(ev, max_late, max_future, received_window)
    page = ev.get("page")
    if page is None:
        page = {}
    elif not isinstance(page, dict):
        raise Reject("invalid page: expected an object")
    row: list = [None] * len(EVENT_COLUMNS)
    row[:5] = head
    for t in TEXTS:
        row[t.pos] = _text(page if t.source == "page" else ev, t)
    value = _money(ev.get("value"), "value", fields.VALUE_RANGE)
    row[COL["value"]] = None if value is None else repr(value)
    row[COL["items"]] = _items(ev.get("items"))
    row[COL["referrer_domain"]] = referrer_domain(row[COL["page_referrer"]])
    device = device_category(row[COL["user_agent"]])
    row[COL["device_category"]] = device
    row[COL["is_bot"]] = "t" if device == "bot" else "f"
    return tuple(row), event_ts
