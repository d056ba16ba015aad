"""The one field table of a staged event row: which JSON value feeds which COPY column, within what.

Every row builder reads it, so they cannot drift apart: :mod:`etl.strict_row` (the reference,
which explains every refusal), :mod:`etl.typed_row` (msgspec structs made from this table)
and :mod:`etl.fast_row` (a few C-level calls on orjson's dicts), the two fast ones falling
back to the reference at the first surprise. The limits are the event
contract's (``common/schemas/events.v1.json``: ``maxLength``, ``maxItems``, ``minimum`` and
``maximum``) and, for the keys ingest adds, the lake's (:data:`common.lake.ENRICHMENT_MAX_CHARS`):
an event ingest accepted is never refused here, and a line nobody validated is refused at
the same bounds, which also keep every value inside what its warehouse column holds
(numeric(18,4) for money).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.lake import ENRICHMENT_MAX_CHARS
from common.schema import events_v1

_SCHEMA = events_v1()
_EVENT = _SCHEMA["$defs"]["event"]["properties"]
_PAGE = _SCHEMA["$defs"]["page"]["properties"]
_ITEM = _SCHEMA["$defs"]["item"]["properties"]
_ENVELOPE = _SCHEMA["properties"]

EVENT_NAMES = frozenset(_EVENT["event_name"]["enum"])

#: Column order of the staging COPY (``file_id`` is appended by the loader).
EVENT_COLUMNS = (
    "event_id", "event_ts", "event_name", "received_at", "sent_at", "app_id", "request_id",
    "anonymous_id", "session_id", "user_id", "page_url", "page_path", "page_title",
    "page_referrer", "referrer_domain", "utm_source", "utm_medium", "utm_campaign", "utm_term",
    "utm_content", "search_term", "value", "currency", "transaction_id", "items",
    "device_category", "is_bot", "user_agent", "ip_anon",
)
#: Position of each column in a row (rows are tuples in :data:`EVENT_COLUMNS` order).
COL = {name: i for i, name in enumerate(EVENT_COLUMNS)}


def _max_chars(prop: dict[str, Any]) -> int:
    return int(prop["maxLength"])


@dataclass(frozen=True)
class Text:
    """A text column copied from a string the event (or its ``page``) holds."""

    column: str
    source: str  # "event" | "page"
    key: str
    max_chars: int
    #: Required and non-empty (the builders refuse a missing or empty one).
    required: bool = False

    @property
    def pos(self) -> int:
        return COL[self.column]


def _event(key: str, *, required: bool = False) -> Text:
    limit = ENRICHMENT_MAX_CHARS.get(key) or _max_chars(_EVENT.get(key) or _ENVELOPE[key])
    return Text(key, "event", key, limit, required)


def _page(key: str) -> Text:
    return Text(f"page_{key}", "page", key, _max_chars(_PAGE[key]))


#: Every text column, in column order.
TEXTS: tuple[Text, ...] = (
    _event("app_id"), _event("request_id"), _event("anonymous_id", required=True),
    _event("session_id", required=True), _event("user_id"),
    _page("url"), _page("path"), _page("title"), _page("referrer"),
    _event("utm_source"), _event("utm_medium"), _event("utm_campaign"), _event("utm_term"),
    _event("utm_content"), _event("search_term"), _event("currency"), _event("transaction_id"),
    _event("user_agent"), _event("ip_anon"),
)
#: The columns that are not plain text, each built by both builders by name.
OTHER_COLUMNS = frozenset({"event_id", "event_ts", "event_name", "received_at", "sent_at",
                           "referrer_domain", "value", "items", "device_category", "is_bot"})
if {t.column for t in TEXTS} | OTHER_COLUMNS != set(EVENT_COLUMNS) or len(TEXTS) + len(OTHER_COLUMNS) != len(COL):
    raise RuntimeError("the field table and EVENT_COLUMNS disagree")  # a column without a builder

#: The event keys the row builders read (the text columns' keys and these).
READ_KEYS = frozenset({t.key for t in TEXTS if t.source == "event"} | {
    "event_id", "event_name", "event_ts", "received_at", "sent_at", "value", "items", "page"})
#: Keys the contract allows on an event that the warehouse does not keep, with their JSON
#: type: both builders ignore their values (the typed one still has to type them, see
#: :mod:`etl.typed_row`).
IGNORED_KEYS = {key: prop["type"] for key, prop in _EVENT.items() if key not in READ_KEYS}

#: Longest timestamp text (event_ts, sent_at, received_at).
MAX_TS_CHARS = _max_chars(_EVENT["event_ts"])


def _range(prop: dict[str, Any]) -> tuple[float, float]:
    return prop["minimum"], prop["maximum"]


#: Inclusive bounds of the event's ``value`` and of an item's ``price`` and ``quantity``.
VALUE_RANGE = _range(_EVENT["value"])
PRICE_RANGE = _range(_ITEM["price"])
QUANTITY_RANGE = _range(_ITEM["quantity"])
MAX_ITEMS = int(_EVENT["items"]["maxItems"])
MAX_ITEM_ID_CHARS = _max_chars(_ITEM["item_id"])
#: The item attributes the warehouse keeps (the staged ``items`` jsonb holds exactly these keys).
ITEM_TEXTS = tuple((k, _max_chars(_ITEM[k])) for k in ("item_name", "item_brand", "item_category"))
ITEM_KEYS = ("item_id", *(k for k, _ in ITEM_TEXTS), "price", "quantity")

#: Column order of reject rows (``source_key`` is the object key).
REJECT_COLUMNS = (
    "source_key", "line_no", "item_index", "stage", "reason", "payload", "raw", "app_id",
    "request_id", "received_at", "events",
)
#: Columns of a session partial: one row per (session, user_id) seen in an object, merged
#: by SQL in the loader exactly as if it aggregated the events themselves.
SESSION_COLUMNS = (
    "session_id", "user_id", "started_at", "first_event_id", "ended_at", "event_count",
    "page_views", "landing_url", "landing_path", "referrer", "referrer_domain", "utm_source",
    "utm_medium", "utm_campaign", "utm_term", "utm_content", "device_category", "is_bot",
    "user_agent", "anonymous_id",
)
#: Columns of a purchase candidate (non-bot purchase events; ``file_id`` appended by the loader).
PURCHASE_COLUMNS = (
    "transaction_id", "event_id", "event_ts", "session_id", "anonymous_id", "user_id", "value",
    "currency", "items", "device_category",
)
