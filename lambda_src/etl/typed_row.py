"""The typed row builder: a line decoded straight into msgspec structs built from the field table.

Why: with orjson the line first becomes dicts and every type, length and range check of
:mod:`etl.fast_row` is a Python-level step per field (about 30 fields an event). Here the
limits of :mod:`etl.fields` become msgspec types (``Meta(max_length/min_length/ge/le)``,
``event_name`` a ``Literal`` of :data:`~etl.fields.EVENT_NAMES`), so one C call decodes the
line *and* checks it, in less CPU than ``orjson.loads`` alone; the row comes out of one
``astuple``. Left to Python: the shapes of the event id and the timestamps (see
:class:`TypedRows` for why not msgspec patterns), their instants, the received window and
the derived columns.

It accepts a subset of what the reference (:func:`etl.strict_row.event_row`) accepts and
builds the same bytes; at the first msgspec error the parser goes the orjson way
(:mod:`etl.fast_row`, then the reference, which explains the refusal). What keeps the subset
honest, checked in ``tests/unit/etl/test_row_builders.py``:

* Every struct forbids unknown keys, and the keys the contract allows but the warehouse does
  not keep (``params``, ``tax``, ...) are typed too, so no part of a line is skipped
  unchecked: msgspec does not validate UTF-8 or number range in what it skips, orjson does.
* A line with a backslash never comes here (the parser keeps it on the orjson path, where the
  NUL and escape rules live), so every string is its raw UTF-8, which msgspec validates.
* Duplicate keys: msgspec checks every occurrence and keeps the last, as orjson keeps the last.
* Numbers: ``bool`` is not a number to msgspec, an integer-typed field refuses ``1.0``, both
  parsers round decimal text to the same double, and a huge integer fails its range.
* Items: an item with exactly the warehouse's keys (:data:`~etl.fields.ITEM_KEYS`, any order,
  missing ones null) is re-encoded from the struct, whose field order is the reference's;
  msgspec and orjson write the same text for every value in range. An item with any other
  key leaves this path (the reference drops such keys; a struct cannot encode fewer fields).
* Timestamps: only the canonical text (:data:`~etl.strict_row.CANONICAL_TS`), which both
  builders keep as it came.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from operator import attrgetter
from typing import Annotated, Any, Literal

import msgspec

from etl import fields
from etl.derived import device_category, referrer_domain
from etl.fields import EVENT_COLUMNS, EVENT_NAMES, TEXTS
from etl.strict_row import CANONICAL_TS, UUID

__all__ = ["DECLINED", "PRODUCT_ATTRS", "Event", "Item", "Page", "TypedRows"]

#: What :func:`typed_row` raises for a line it leaves to the orjson path.
DECLINED = (msgspec.ValidationError, msgspec.DecodeError)


def _text(max_chars: int, *, required: bool = False) -> Any:
    if required:
        return Annotated[str, msgspec.Meta(min_length=1, max_length=max_chars)]
    return Annotated[str, msgspec.Meta(max_length=max_chars)] | None


def _number(bounds: tuple[float, float]) -> Any:
    lo, hi = bounds
    return Annotated[int, msgspec.Meta(ge=lo, le=hi)] | Annotated[float, msgspec.Meta(ge=lo, le=hi)] | None


#: Timestamps and the event id are shape-checked in Python (see :class:`TypedRows`).
_TS = Annotated[str, msgspec.Meta(max_length=fields.MAX_TS_CHARS)]
_CANONICAL = CANONICAL_TS.fullmatch
_UUID = UUID.fullmatch
_CACHE = 4096
#: How a key the warehouse does not keep is typed, by its JSON type in the contract: loosely,
#: as the reference takes any value there; another type only sends the line the orjson way.
_LOOSE = {"string": str | None, "number": int | float | None, "integer": int | float | None,
          "object": dict[str, str | int | float | bool | None] | None}


def _struct(name: str, specs: list) -> type[msgspec.Struct]:
    return msgspec.defstruct(name, specs, kw_only=True, forbid_unknown_fields=True, gc=False)


#: An item with exactly the warehouse's keys, in :data:`~etl.fields.ITEM_KEYS` order (which
#: is the order it is encoded in).
Item = _struct("Item", [
    ("item_id", _text(fields.MAX_ITEM_ID_CHARS, required=True)),
    *((key, _text(limit), None) for key, limit in fields.ITEM_TEXTS),
    ("price", _number(fields.PRICE_RANGE), None),
    ("quantity", Annotated[int, msgspec.Meta(ge=fields.QUANTITY_RANGE[0], le=fields.QUANTITY_RANGE[1])] | None,
     None),
])
Page = _struct("Page", [(t.key, _text(t.max_chars), None) for t in TEXTS if t.source == "page"])
_EVENT_TEXTS = tuple(t for t in TEXTS if t.source == "event")
#: The event's own text columns come first, in column order, so that one ``astuple`` call
#: hands them over as runs to slice (:func:`_assemble`); then what the head and the other
#: columns read; then the keys the warehouse ignores.
Event = _struct("Event", [
    *((t.key, _text(t.max_chars, required=True)) if t.required else (t.key, _text(t.max_chars), None)
      for t in _EVENT_TEXTS),
    ("event_id", Annotated[str, msgspec.Meta(min_length=36, max_length=36)]),
    ("event_name", Literal[tuple(sorted(EVENT_NAMES))]),
    ("event_ts", _TS),
    ("received_at", _TS),
    ("sent_at", _TS | None, None),
    ("page", Page | None, None),
    ("value", _number(fields.VALUE_RANGE), None),
    ("items", Annotated[list[Item], msgspec.Meta(max_length=fields.MAX_ITEMS)] | None, None),
    *((key, _LOOSE[kind], None) for key, kind in fields.IGNORED_KEYS.items()),
])
_N_TEXTS = len(_EVENT_TEXTS)
_REST = slice(_N_TEXTS, _N_TEXTS + 8)  # event_id .. items
_UA = [t.key for t in _EVENT_TEXTS].index("user_agent")
_REFERRER = Page.__struct_fields__.index("referrer")
_NO_PAGE = (None,) * len(Page.__struct_fields__)
if (Item.__struct_fields__ != fields.ITEM_KEYS
        or set(Event.__struct_fields__) != fields.READ_KEYS | set(fields.IGNORED_KEYS)
        or Event.__struct_fields__[_REST][-1] != "items"):
    raise RuntimeError("the typed structs and the field table disagree")

_decode = msgspec.json.Decoder(Event).decode
_encode = msgspec.json.Encoder().encode
_astuple = msgspec.structs.astuple
#: (item_id, name, brand, category, price) of an item struct: what a product partial keeps.
PRODUCT_ATTRS = attrgetter("item_id", *(k for k, _ in fields.ITEM_TEXTS), "price")


def _runs() -> list[slice]:
    """Where the event's text columns fall between the other columns: slices of its texts."""
    event_texts = {t.column for t in _EVENT_TEXTS}
    runs, start, i = [], 0, 0
    for col in EVENT_COLUMNS[5:]:
        if col in event_texts:
            i += 1
        elif i > start:
            runs.append(slice(start, i))
            start = i
    runs.append(slice(start, i))
    return runs


_S1, _S2, _S3, _S4 = _runs()  # 5, 6, 2 and 2 columns


def _assemble(texts: tuple, head: tuple, page: tuple, domain: str | None, value: str | None,
              items: str | None, device: str, bot: str) -> tuple:
    """The row in :data:`~etl.fields.EVENT_COLUMNS` order (checked at import, below)."""
    return (*head, *texts[_S1], *page, domain, *texts[_S2], value, *texts[_S3], items, device, bot,
            *texts[_S4])


if _assemble(tuple(t.column for t in _EVENT_TEXTS), EVENT_COLUMNS[:5],
             tuple(f"page_{k}" for k in Page.__struct_fields__), "referrer_domain", "value", "items",
             "device_category", "is_bot") != EVENT_COLUMNS:
    raise RuntimeError("the typed row layout and EVENT_COLUMNS disagree")


class TypedRows:
    """The typed builder of one object's parse, with its caches of the per-request timestamps.

    ``received_at`` and ``sent_at`` repeat for every event of a request: each distinct text is
    checked once (canonical shape, a real date, inside the window) and remembered with the
    range its events' ``event_ts`` must fall in. The shapes are checked here in Python, not
    as msgspec patterns: msgspec calls the pattern per value at about four times the cost of
    ``re.fullmatch`` (measured: 1.2 us against 0.33 us for a UUID).
    """

    def __init__(self, max_late: timedelta, max_future: timedelta,
                 window: tuple[datetime, datetime] | None) -> None:
        self.max_late, self.max_future, self.window = max_late, max_future, window
        #: received_at text -> (earliest, latest) event_ts of its events
        self.bounds: dict[str, tuple[datetime, datetime]] = {}
        self.sent: set[str] = set()

    def _bounds(self, rec_raw: str) -> tuple[datetime, datetime] | None:
        if not _CANONICAL(rec_raw):
            return None
        try:
            received_at = datetime.fromisoformat(rec_raw)
        except ValueError:  # the right shape, not a date (Feb 30)
            return None
        window = self.window
        if window is not None and not window[0] <= received_at < window[1]:
            return None
        if len(self.bounds) > _CACHE:
            self.bounds.clear()
        b = self.bounds[rec_raw] = (received_at - self.max_late, received_at + self.max_future)
        return b

    def _sent_ok(self, sent_raw: str) -> bool:
        if not _CANONICAL(sent_raw):
            return False
        try:
            datetime.fromisoformat(sent_raw)
        except ValueError:
            return False
        if len(self.sent) > _CACHE:
            self.sent.clear()
        self.sent.add(sent_raw)
        return True

    def row(self, line: bytes) -> tuple[tuple, datetime, list | None] | None:
        """Row, event_ts and item structs of a canonical event line, or None to let the orjson path decide.

        Raises one of :data:`DECLINED` when msgspec refuses the line (same meaning as None).
        ``line`` must hold no backslash (the caller's test).
        """
        texts = _astuple(_decode(line))
        event_id, name, ts_raw, rec_raw, sent_raw, page, value, items = texts[_REST]
        bounds = self.bounds.get(rec_raw) or self._bounds(rec_raw)
        if bounds is None or not _UUID(event_id) or not _CANONICAL(ts_raw):
            return None
        if sent_raw is not None and sent_raw not in self.sent and not self._sent_ok(sent_raw):
            return None
        try:
            event_ts = datetime.fromisoformat(ts_raw)
        except ValueError:
            return None
        if not bounds[0] <= event_ts <= bounds[1]:
            return None
        page_texts = _NO_PAGE if page is None else _astuple(page)
        device = device_category(texts[_UA])
        row = _assemble(texts, (event_id.lower(), ts_raw, name, rec_raw, sent_raw), page_texts,
                        referrer_domain(page_texts[_REFERRER]), None if value is None else repr(value),
                        None if items is None else _encode(items).decode(), device, "t" if device == "bot" else "f")
        return row, event_ts, items
