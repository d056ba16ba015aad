"""Turn one raw S3 object into staging rows and reject rows.

The ETL defends itself per line even though the ingest Lambda validated the events: the
lake is append-only and anything with write access can put an object there. A bad line
becomes a reject row (reason + payload or raw text) and the rest of the object loads. A
stream that breaks part-way (truncated, corrupt after a good member) loads its complete
lines and records the remainder as one reject row ("truncated gzip stream", "corrupt gzip
stream") standing for the events the writer says were there. Only an object that is not a
gzip JSON-lines delivery at all (no gzip header, over the size or ratio limits, no JSON in
its first lines) raises :class:`ObjectError`: it is recorded as permanently failed.

Every event must have been received inside its object's ``dt`` partition (with the clock
tolerance ``max_future`` either side) and happened no earlier than ``max_late`` before it
was received, so one object can only ever touch the months around its ``dt``: that is
what bounds the monthly partitions the loader creates.

Everything a row carries has been checked so that PostgreSQL can never refuse it: the shared
text rule (:mod:`common.text`, the same function ingest rejects events with, so an event
ingest accepted always loads), numbers within numeric(18,4), canonical UUIDs and ISO
timestamps, items re-serialised with known keys and types only. That is what lets one COPY
carry many objects without one bad value failing the rest.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import orjson
from common.text import NUL_ESCAPE, clean_text, text_problem, value_problem

from etl.useragent import device_category

EVENT_NAMES = frozenset({
    "page_view", "search", "view_item_list", "select_item", "view_item", "add_to_cart",
    "remove_from_cart", "begin_checkout", "add_shipping_info", "add_payment_info", "purchase",
    "refund",
})

#: Column order of the staging COPY (``file_id`` is appended by the loader).
EVENT_COLUMNS = (
    "event_id", "event_ts", "event_name", "received_at", "sent_at", "app_id", "request_id",
    "anonymous_id", "session_id", "user_id", "page_url", "page_path", "page_title",
    "page_referrer", "referrer_domain", "utm_source", "utm_medium", "utm_campaign", "utm_term",
    "utm_content", "search_term", "value", "currency", "transaction_id", "items",
    "device_category", "is_bot", "user_agent", "ip_anon",
)
#: Column order of reject rows (``source_key`` is the object key).
REJECT_COLUMNS = (
    "source_key", "line_no", "item_index", "stage", "reason", "payload", "raw", "app_id",
    "request_id", "received_at", "events",
)

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TS = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})", re.IGNORECASE
)
_FRACTION = re.compile(r"(\.\d{6})\d+")
_MAX_MONEY = 1e13  # numeric(18,4) holds 14 integer digits
_MAX_RAW = 8192
#: Complete lines read before an object with no JSON line among them is refused as "not
#: JSON lines" (and not turned into that many reject rows). Ingest never writes a line that
#: is not JSON, so the first line already tells; a hundred leaves room for damaged objects.
NOT_JSON_PROBE = 100
OUTSIDE_PARTITION = "received_at outside the object's dt partition (beyond the clock tolerance)"
TRUNCATED = "truncated gzip stream"
CORRUPT = "corrupt gzip stream"
_CHUNK = 1024 * 1024


class ObjectError(Exception):
    """The object as a whole cannot be loaded; nothing from it is.

    ``permanent`` errors are about the object's bytes (not gzip, over a limit, not JSON
    lines): reading it again gives the same answer, so it is marked failed once. Read
    failures (:class:`ReadError`) are not: the object is retried by later runs.
    """

    permanent: bool = True
    #: The writer's declared line count, when the object was read (set by the runner).
    declared: int | None = None


class ReadError(ObjectError):
    """The object could not be fetched (S3 error, timeout, throttling, reset, short read)."""

    permanent = False


class Reject(Exception):
    """One line is refused, with the reason stored in dw.rejected_events."""


# -- gunzip ---------------------------------------------------------------------------------
#: Default ceiling on decompressed / compressed bytes. Ingest's gzip JSON lines reach ~20:1
#: at worst (500 events of one request sharing every enrichment field; measured with
#: ``ingest.storage.gzip_bytes``); deflate's own maximum is ~1032:1, which is what a bomb
#: uses. 100:1 leaves the real data a five-fold margin and refuses a bomb after its first
#: output chunk.
MAX_RATIO = 100.0
#: Decompressed bytes allowed beyond ``ratio * compressed``: more than any delivery ingest can
#: write (a body of at most 1 MiB plus its enrichment), so a valid object of one long,
#: highly compressible string (200 KB of one letter gzips to ~600 bytes, 333:1) still loads,
#: while a bomb is refused after this much and one chunk of its hundreds of megabytes.
RATIO_SLACK = 4 * 1024 * 1024
#: Output produced per zlib call: the ratio and size limits are checked after each one,
#: before any of it is yielded to the line splitter, so a bomb costs at most this much.
_GZ_CHUNK = 256 * 1024


def _is_json_orjson_refuses(line: bytes) -> bool:
    """True when the standard library reads ``line`` as JSON although orjson did not."""
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


class GzipStream:
    """Decompressed chunks of a (multi-member) gzip body, with hard limits checked as it goes.

    Why a class and not a generator that raises: a stream that breaks part-way (truncated
    upload, corrupt bytes after the last good member) still delivered every complete line
    before the break, and those must load. So iteration simply stops at the break and
    :attr:`error` says why; the caller loads the complete lines and records the remainder
    as rejected. Only what says the object as a whole is not a gzip JSON-lines delivery
    raises :class:`ObjectError` (permanent): no gzip header at all, more than
    ``max_total`` bytes, or a compression ratio no real delivery has (a bomb). Both limits
    are checked after every ``_GZ_CHUNK`` of output and before it is yielded, so refusing a
    bomb costs one chunk of work whatever its size (:attr:`decompressed` says how much).
    """

    def __init__(self, chunks: Iterable[bytes], *, max_total: int, max_ratio: float | None = MAX_RATIO,
                 slack: int = RATIO_SLACK) -> None:
        self._chunks = chunks
        self.max_total = max_total
        self.max_ratio = max_ratio
        # Past a quarter of the size limit the slack would only delay the size limit's own
        # refusal: a bomb is then still told by its ratio, under any configured limit.
        self.slack = min(slack, max_total // 4)
        #: Bytes produced / compressed bytes consumed so far.
        self.decompressed = 0
        self.consumed = 0
        #: Why the stream stopped early (truncated or corrupt); None when it ended cleanly.
        self.error: str | None = None
        #: True once iteration has ended (cleanly or at a break).
        self.exhausted = False

    def _check(self) -> None:
        if self.decompressed > self.max_total:
            raise ObjectError(f"decompressed size exceeds the limit of {self.max_total} bytes")
        if self.max_ratio is not None and self.decompressed > self.max_ratio * self.consumed + self.slack:
            raise ObjectError(
                f"decompression bomb refused: {self.decompressed} bytes from {self.consumed} compressed "
                f"bytes is over the {self.max_ratio:g}:1 ratio limit (refused after "
                f"{self.decompressed} decompressed bytes)")

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._run()
        finally:
            self.exhausted = True

    def _run(self) -> Iterator[bytes]:
        d = zlib.decompressobj(wbits=31)
        member_input = False  # has the current gzip member been fed anything?
        for chunk in self._chunks:
            data = chunk
            if data:
                member_input = True
            while True:
                try:
                    out = d.decompress(data, _GZ_CHUNK)
                except zlib.error as exc:
                    if self.decompressed == 0:
                        raise ObjectError(f"not a valid gzip stream: {exc}") from exc
                    self.error = f"corrupt gzip stream after {self.decompressed} decompressed bytes: {exc}"
                    return
                rest = d.unused_data if d.eof else d.unconsumed_tail
                self.consumed += len(data) - len(rest)
                self.decompressed += len(out)
                self._check()
                if out:
                    yield out
                if d.eof:
                    data = d.unused_data
                    if data.strip(b"\x00") == b"":
                        data = b""  # zero padding after the last member is tolerated
                    d = zlib.decompressobj(wbits=31)
                    member_input = bool(data)
                    if not data:
                        break
                    continue
                data = d.unconsumed_tail
                if not data and len(out) < _GZ_CHUNK:
                    break
        if member_input and not d.eof:
            self.error = (f"truncated gzip stream (no end-of-stream marker after {self.decompressed} "
                          "decompressed bytes)")


def gunzip_chunks(chunks: Iterable[bytes], max_total: int, *, max_ratio: float | None = MAX_RATIO) -> Iterator[bytes]:
    """All of a gzip body or :class:`ObjectError`: the strict form of :class:`GzipStream`."""
    stream = GzipStream(chunks, max_total=max_total, max_ratio=max_ratio)
    yield from stream
    if stream.error is not None:
        raise ObjectError(stream.error)


def iter_lines(
    chunks: Iterable[bytes], *, max_line: int
) -> Iterator[tuple[int, bytes | None, int]]:
    """Yield ``(line_no, line, length)``; ``line`` is None when longer than ``max_line``.

    A line over the limit is skipped without ever being held whole in memory.
    """
    buf = b""
    line_no = 0
    skipping = 0  # > 0: length so far of an over-long line being skipped
    for chunk in chunks:
        start = 0
        if skipping:
            nl = chunk.find(b"\n")
            if nl < 0:
                skipping += len(chunk)
                continue
            line_no += 1
            yield line_no, None, skipping + nl
            skipping = 0
            start = nl + 1
        data = buf + chunk[start:] if buf else chunk[start:]
        parts = data.split(b"\n")
        buf = parts.pop()
        for part in parts:
            line_no += 1
            if len(part) > max_line:
                yield line_no, None, len(part)
            else:
                yield line_no, part, len(part)
        if len(buf) > max_line:
            skipping = len(buf)
            buf = b""
    if skipping:
        yield line_no + 1, None, skipping
    elif buf:
        yield line_no + 1, buf if len(buf) <= max_line else None, len(buf)


# -- field checks ---------------------------------------------------------------------------
def parse_ts(value: object, name: str) -> datetime:
    """An aware datetime from an RFC 3339 string, or :class:`Reject`."""
    if not isinstance(value, str) or len(value) > 40 or not _TS.fullmatch(value):
        raise Reject(f"invalid {name}: not an RFC 3339 timestamp")
    text = _FRACTION.sub(r"\1", value)  # PostgreSQL and Python keep microseconds
    try:
        ts = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Reject(f"invalid {name}: {exc}") from exc
    return ts


def _opt_str(obj: dict, key: str, limit: int) -> str | None:
    v = obj.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise Reject(f"invalid {key}: expected a string")
    if len(v) > limit:
        raise Reject(f"invalid {key}: longer than {limit} characters")
    return v


def _req_str(obj: dict, key: str, limit: int) -> str:
    v = _opt_str(obj, key, limit)
    if not v:
        raise Reject(f"missing {key}")
    return v


def _money(v: object, name: str) -> float | int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise Reject(f"invalid {name}: expected a number")
    if not -_MAX_MONEY < v < _MAX_MONEY:
        raise Reject(f"invalid {name}: out of range")
    return v


_DOMAINS: dict[str, str | None] = {}


def referrer_domain(referrer: str | None) -> str | None:
    """Host of a referrer URL, lower-case, without ``www.`` (cached: referrers repeat)."""
    if not referrer:
        return None
    cached = _DOMAINS.get(referrer, "")
    if cached != "":
        return cached
    try:
        host = urlsplit(referrer).hostname
    except ValueError:
        host = None
    if host and host.startswith("www."):
        host = host[4:]
    host = host or None
    if len(_DOMAINS) > 50_000:
        _DOMAINS.clear()
    _DOMAINS[referrer] = host
    return host


def _items(v: object) -> str | None:
    if v is None:
        return None
    if not isinstance(v, list) or len(v) > 200:
        raise Reject("invalid items: expected a list of at most 200 objects")
    clean = []
    for it in v:
        if not isinstance(it, dict):
            raise Reject("invalid items: every item must be an object")
        item_id = it.get("item_id")
        if not isinstance(item_id, str) or not item_id or len(item_id) > 256:
            raise Reject("invalid items: item_id must be a non-empty string")
        q = it.get("quantity")
        if q is not None and (isinstance(q, bool) or not isinstance(q, int) or not 0 <= q < 1_000_000):
            raise Reject("invalid items: quantity must be an integer 0..999999")
        clean.append({
            "item_id": item_id,
            "item_name": _opt_str(it, "item_name", 512),
            "item_brand": _opt_str(it, "item_brand", 256),
            "item_category": _opt_str(it, "item_category", 256),
            "price": _money(it.get("price"), "items.price"),
            "quantity": q,
        })
    return orjson.dumps(clean).decode()


def event_row(ev: object, *, max_late: timedelta, max_future: timedelta,
              received_window: tuple[datetime, datetime] | None = None) -> tuple:
    """Validate one accepted event and return its staging row (see :data:`EVENT_COLUMNS`).

    ``received_window`` is the half-open range ``received_at`` must fall in (the object's
    dt day widened by the clock tolerance); outside it the event is refused rather than
    given a partition of its own.
    """
    if not isinstance(ev, dict):
        raise Reject("not a JSON object")
    event_id = ev.get("event_id")
    if not isinstance(event_id, str) or not _UUID.fullmatch(event_id):
        raise Reject("invalid event_id: not a UUID")
    name = ev.get("event_name")
    if not isinstance(name, str) or name not in EVENT_NAMES:  # a list is unhashable
        raise Reject("invalid event_name")
    event_ts = parse_ts(ev.get("event_ts"), "event_ts")
    received_at = parse_ts(ev.get("received_at"), "received_at")
    if received_window is not None and not received_window[0] <= received_at < received_window[1]:
        raise Reject(OUTSIDE_PARTITION)
    if event_ts < received_at - max_late:
        raise Reject("event_ts too old: before received_at minus the late-event window")
    if event_ts > received_at + max_future:
        raise Reject("event_ts in the future relative to received_at")
    sent_raw = ev.get("sent_at")
    sent_at = parse_ts(sent_raw, "sent_at").isoformat() if sent_raw is not None else None
    page = ev.get("page")
    if page is None:
        page = {}
    elif not isinstance(page, dict):
        raise Reject("invalid page: expected an object")
    referrer = _opt_str(page, "referrer", 4096)
    ua = _opt_str(ev, "user_agent", 2048)
    device = device_category(ua)
    currency = _opt_str(ev, "currency", 3)
    return (
        event_id.lower(),
        event_ts.isoformat(),
        name,
        received_at.isoformat(),
        sent_at,
        _opt_str(ev, "app_id", 64),
        _opt_str(ev, "request_id", 128),
        _req_str(ev, "anonymous_id", 128),
        _req_str(ev, "session_id", 128),
        _opt_str(ev, "user_id", 128),
        _opt_str(page, "url", 4096),
        _opt_str(page, "path", 2048),
        _opt_str(page, "title", 1024),
        referrer,
        referrer_domain(referrer),
        _opt_str(ev, "utm_source", 256),
        _opt_str(ev, "utm_medium", 256),
        _opt_str(ev, "utm_campaign", 256),
        _opt_str(ev, "utm_term", 256),
        _opt_str(ev, "utm_content", 256),
        _opt_str(ev, "search_term", 256),
        _money(ev.get("value"), "value"),
        currency,
        _opt_str(ev, "transaction_id", 128),
        _items(ev.get("items")),
        device,
        device == "bot",
        ua,
        _opt_str(ev, "ip_anon", 64),
    ), event_ts


# -- fast path ------------------------------------------------------------------------------
# Almost every line is a well-formed event written by the ingest Lambda. The fast path
# checks it with a handful of C-level operations (one type/length sweep over the string
# fields, a strict timestamp shape, a cache for the per-request timestamps) and returns
# None at the first surprise; the line then goes through :func:`event_row`, which applies
# the same rules one by one and raises the precise :class:`Reject`. So both paths accept
# exactly the same lines and produce the same values; only the slow one explains refusals.

#: (source, key, limit) of every optional string field, in COPY column order after the
#: timestamps; "p" is the page object, "e" the event.
_STR_FIELDS = (
    ("e", "app_id", 64), ("e", "request_id", 128), ("e", "anonymous_id", 128),
    ("e", "session_id", 128), ("e", "user_id", 128), ("p", "url", 4096), ("p", "path", 2048),
    ("p", "title", 1024), ("p", "referrer", 4096), ("e", "utm_source", 256),
    ("e", "utm_medium", 256), ("e", "utm_campaign", 256), ("e", "utm_term", 256),
    ("e", "utm_content", 256), ("e", "search_term", 256), ("e", "currency", 3),
    ("e", "transaction_id", 128), ("e", "user_agent", 2048), ("e", "ip_anon", 64),
)
_EV_KEYS = tuple(k for src, k, _ in _STR_FIELDS if src == "e")
_PAGE_KEYS = ("url", "path", "title", "referrer")
_LIMITS = tuple(limit for *_, limit in _STR_FIELDS)
_FAST_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)")
_ITEM_KEYS = frozenset(("item_id", "item_name", "item_brand", "item_category", "price", "quantity"))
_NUM = (int, float)


def _fast_ts(value: object, cache: dict[str, datetime]) -> datetime | None:
    """A timestamp in the canonical shape (which PostgreSQL reads to the same instant)."""
    ts = cache.get(value) if value.__class__ is str else None  # type: ignore[arg-type]
    if ts is None:
        if value.__class__ is not str or not _FAST_TS.fullmatch(value):  # type: ignore[arg-type]
            return None
        try:
            ts = datetime.fromisoformat(value)  # type: ignore[arg-type]
        except ValueError:
            return None
        if len(cache) > 4096:
            cache.clear()
        cache[value] = ts  # type: ignore[index]
    return ts


def _fast_items(v: list) -> str | None:
    """Items JSON when every item has exactly the known keys with valid values, else None.

    The original list is dumped as is: with exactly the known keys it is the same jsonb
    value the slow path builds (jsonb does not keep key order).
    """
    if len(v) > 200:
        return None
    for it in v:
        if it.__class__ is not dict or it.keys() != _ITEM_KEYS:
            return None
        i = it["item_id"]
        if i.__class__ is not str or not i or len(i) > 256:
            return None
        for k, lim in (("item_name", 512), ("item_brand", 256), ("item_category", 256)):
            s = it[k]
            if s is not None and (s.__class__ is not str or len(s) > lim):
                return None
        p = it["price"]
        if p is not None and (p.__class__ not in _NUM or not -_MAX_MONEY < p < _MAX_MONEY):
            return None
        q = it["quantity"]
        if q is not None and (q.__class__ is not int or not 0 <= q < 1_000_000):
            return None
    return orjson.dumps(v).decode()


def _fast_row(ev: object, tcache: dict[str, datetime], max_late: timedelta,
              max_future: timedelta, window: tuple[datetime, datetime] | None) -> tuple[tuple, datetime] | None:
    """The staging row of a well-formed event, or None to let :func:`event_row` decide."""
    if ev.__class__ is not dict:
        return None
    get = ev.get  # type: ignore[attr-defined]
    event_id = get("event_id")
    if event_id.__class__ is not str or len(event_id) != 36 or not _UUID.fullmatch(event_id):
        return None
    name = get("event_name")
    if name.__class__ is not str or name not in EVENT_NAMES:
        return None
    ts_raw, rec_raw, sent_raw = get("event_ts"), get("received_at"), get("sent_at")
    event_ts = _fast_ts(ts_raw, tcache)
    received_at = _fast_ts(rec_raw, tcache)
    if event_ts is None or received_at is None:
        return None
    if window is not None and not window[0] <= received_at < window[1]:
        return None
    if event_ts < received_at - max_late or event_ts > received_at + max_future:
        return None
    if sent_raw is not None and _fast_ts(sent_raw, tcache) is None:
        return None
    page = get("page")
    if page is None:
        page = {}
    elif page.__class__ is not dict:
        return None
    pget = page.get
    (app_id, request_id, anonymous_id, session_id, user_id, utm_source, utm_medium,
     utm_campaign, utm_term, utm_content, search_term, currency, transaction_id, ua,
     ip_anon) = vals = tuple(map(get, _EV_KEYS))
    url, path, title, referrer = pvals = tuple(map(pget, _PAGE_KEYS))
    for v, limit in zip(vals[:5] + pvals + vals[5:], _LIMITS, strict=True):
        if v is not None and (v.__class__ is not str or len(v) > limit):
            return None
    if not anonymous_id or not session_id:
        return None
    value = get("value")
    if value is not None:
        if value.__class__ not in _NUM or not -_MAX_MONEY < value < _MAX_MONEY:
            return None
        value = repr(value)
    items = get("items")
    if items is not None:
        if items.__class__ is not list:
            return None
        items = _fast_items(items)
        if items is None:
            return None
    device = device_category(ua)
    return (
        event_id.lower(), ts_raw, name, rec_raw, sent_raw, app_id, request_id, anonymous_id,
        session_id, user_id, url, path, title, referrer, referrer_domain(referrer),
        utm_source, utm_medium, utm_campaign, utm_term, utm_content, search_term, value,
        currency, transaction_id, items, device, "t" if device == "bot" else "f", ua, ip_anon,
    ), event_ts


def _copy_ready(row: tuple) -> tuple:
    """:func:`event_row`'s values as COPY text fields (numbers and booleans as text)."""
    out = list(row)
    if out[21] is not None:
        out[21] = repr(out[21])
    out[26] = "t" if out[26] else "f"
    return tuple(out)


# COPY text format: backslash, tab, newline and carriage return must be escaped. A JSON
# string can only hold them through a backslash escape in the line, so lines without a
# backslash skip escaping altogether.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_line(fields: tuple, escape: bool) -> str:
    """One COPY text row (without its newline) from str/None fields."""
    if escape:
        return "\t".join(["\\N" if v is None else v.translate(_COPY_ESCAPES) for v in fields])
    return "\t".join(["\\N" if v is None else v for v in fields])


_UNESCAPES = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}
_UNESCAPE = re.compile(r"\\[\\tnr]")


def decode_copy_line(line: str) -> list[str | None]:
    """Inverse of :func:`copy_line` (for inspection and tests)."""
    return [None if f == "\\N" else _UNESCAPE.sub(lambda m: _UNESCAPES[m.group()], f)
            for f in line.split("\t")]


# -- objects --------------------------------------------------------------------------------
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


@dataclass
class ParsedObject:
    """Everything the loader needs from one object, ready to COPY (no file_id yet)."""

    key: str
    kind: str  # "events" | "rejected"
    dt: date
    etag: str | None
    size: int | None
    #: Non-blank lines seen, the unreadable remainder of a broken stream counting as one.
    lines: int = 0
    #: Lines the writer says the object holds (S3 metadata), None for older writers.
    declared: int | None = None
    #: COPY text rows in :data:`EVENT_COLUMNS` order, each ending in a newline.
    copy_text: bytes = b""
    #: COPY text rows ``event_id<TAB>event_ts`` for dw.event_ids, same order.
    id_text: bytes = b""
    event_ids: list[str] = field(default_factory=list)
    rejects: list[tuple] = field(default_factory=list)
    days: set[date] = field(default_factory=set)
    min_ts: datetime | None = None
    max_ts: datetime | None = None
    duplicates_in_object: int = 0
    #: Rows left out because the loader already had their event_id (see ``exclude``).
    excluded: int = 0
    #: Why the gzip stream stopped before its end (truncated, corrupt), else None.
    stream_error: str | None = None
    #: Decompressed bytes read.
    decompressed: int = 0
    #: item_id -> [first_seen, last_seen, name, brand, category, price] (latest attributes)
    products: dict[str, list] = field(default_factory=dict)
    sessions: list[tuple] = field(default_factory=list)
    purchases: list[tuple] = field(default_factory=list)
    #: The raw object and the parse limits, kept so the loader can re-parse it without
    #: rows it must leave out (:meth:`reparse`) with no second GET.
    body: bytes | None = None
    options: dict = field(default_factory=dict)

    @property
    def received(self) -> int:
        """What this delivery holds: the writer's count when it gave one, else the lines seen."""
        return self.declared if self.declared is not None else self.lines

    @property
    def received_source(self) -> str:
        return "metadata" if self.declared is not None else "lines"

    def reparse(self, exclude: frozenset[str] | set[str]) -> ParsedObject:
        """This object parsed again, leaving out the rows whose event_id is in ``exclude``."""
        if self.body is None:
            raise ValueError(f"{self.key}: no body kept to re-parse")
        return parse_object(self.key, self.kind, self.dt, self.etag, self.size, [self.body],
                            exclude=exclude, declared=self.declared, **self.options)

    @property
    def rows(self) -> list[dict[str, str | None]]:
        """The staged rows decoded by column name (inspection and tests; not the hot path)."""
        text = self.copy_text.decode()
        return [dict(zip(EVENT_COLUMNS, decode_copy_line(line), strict=True))
                for line in text.split("\n")[:-1]]


def declared_count(metadata: Mapping[str, str] | None) -> int | None:
    """Lines the writer says it stored, from the object's S3 user metadata.

    Ingest writes ``events`` and ``rejected`` (one object holds one kind, so one is 0);
    writers before that wrote ``event-count`` with the same meaning. Anything unusable
    (absent, not a count) means "unknown": the object is then accounted by its lines.
    """
    if not metadata:
        return None

    def count(name: str) -> int | None:
        raw = metadata.get(name)
        if raw is None or not raw.strip().isdigit() or len(raw.strip()) > 9:
            return None
        return int(raw)

    if "events" in metadata or "rejected" in metadata:
        ev, rej = count("events") if "events" in metadata else 0, count("rejected") if "rejected" in metadata else 0
        return None if ev is None or rej is None else ev + rej
    return count("event-count")


def received_window(dt: date, tolerance: timedelta) -> tuple[datetime, datetime]:
    """Where ``received_at`` of an object in partition ``dt`` may fall: the day, widened."""
    start = datetime(dt.year, dt.month, dt.day, tzinfo=UTC)
    return start - tolerance, start + timedelta(days=1) + tolerance


def _payload_and_raw(line: bytes | None, obj: object | None) -> tuple[str | None, str | None]:
    """What to keep of a refused line: JSON if PostgreSQL's jsonb can hold it, else text.

    orjson writes at most 254 levels of nesting (it parses 1024), so a deeper value is kept
    as text; a NUL escape in the dump is only a NUL when the decoded value says so.
    """
    if obj is not None:
        try:
            dumped: bytes | None = orjson.dumps(obj)
        except orjson.JSONEncodeError:
            dumped = None
        if dumped is not None and (NUL_ESCAPE not in dumped or value_problem(obj) is None):
            return dumped.decode(), None
    if line is None:
        return None, None
    return None, line[:_MAX_RAW].decode("utf-8", "replace").replace("\x00", "\ufffd")


def _ctx(obj: object) -> tuple[str | None, str | None, str | None]:
    """app_id, request_id, received_at of a refused line when they are usable."""
    if not isinstance(obj, dict):
        return None, None, None
    out = []
    for k, limit in (("app_id", 64), ("request_id", 128)):
        v = obj.get(k)
        out.append(v if isinstance(v, str) and len(v) <= limit and text_problem(v) is None else None)
    try:
        rec = parse_ts(obj.get("received_at"), "received_at").isoformat()
    except Reject:
        rec = None
    return out[0], out[1], rec


def parse_object(
    key: str, kind: str, dt: date, etag: str | None, size: int | None,
    chunks: Iterable[bytes], *, max_decompressed: int, max_line: int,
    max_late: timedelta, max_future: timedelta, exclude: frozenset[str] | set[str] = frozenset(),
    max_ratio: float | None = MAX_RATIO, declared: int | None = None,
) -> ParsedObject:
    """Read, validate and split one object into COPY rows, rejects and partial aggregates.

    Rows whose event_id is in ``exclude`` (already in the warehouse, or earlier in the same
    batch) are left out and counted in ``excluded``: the loader re-parses an object that way
    so that everything derived from it (sessions, purchases, days) counts new events only.

    ``declared`` is the writer's own count of the object's lines (S3 metadata): it is what
    the accounting checks against, and what tells how many events the unreadable remainder
    of a truncated object stood for. Without it the remainder counts as one line.
    """
    po = ParsedObject(key=key, kind=kind, dt=dt, etag=etag, size=size, declared=declared, options={
        "max_decompressed": max_decompressed, "max_line": max_line, "max_late": max_late,
        "max_future": max_future, "max_ratio": max_ratio})
    body_parts: list[bytes] = []

    def keep(parts: Iterable[bytes]) -> Iterator[bytes]:
        for part in parts:
            body_parts.append(part)
            yield part

    source = keep(chunks)
    stream = GzipStream(source, max_total=max_decompressed, max_ratio=max_ratio)
    window = received_window(dt, max_future) if kind == "events" else None
    seen: set[str] = set()
    ids, rejects, days = po.event_ids, po.rejects, po.days
    out: list[str] = []
    id_out: list[str] = []
    sessions: dict[tuple[str, str | None], list] = {}
    tcache: dict[str, datetime] = {}
    min_ts = max_ts = None
    loads = orjson.loads
    utc = UTC
    json_lines = not_json = last_line = 0
    tail: tuple[int, bytes | None] | None = None
    for line_no, line, length in iter_lines(stream, max_line=max_line):
        if stream.error is not None:
            # Only the unterminated bytes after a break arrive once the stream has stopped:
            # part of a line, never parsed (it would be a prefix of the real one).
            tail = (line_no, line)
            break
        last_line = line_no
        if line is not None and not line.strip():
            continue  # blank lines (a trailing newline) are not events
        po.lines += 1
        obj = None
        try:
            if line is None:
                raise Reject(f"line too long: {length} bytes (limit {max_line})")
            try:
                obj = loads(line)
            except orjson.JSONDecodeError as exc:
                if _is_json_orjson_refuses(line):
                    # JSON, but with what orjson (and PostgreSQL) refuse, e.g. a lone surrogate
                    # escape: a bad line, not a sign that the object is not JSON lines.
                    json_lines += 1
                    raise Reject(f"invalid JSON: {exc}") from exc
                not_json += 1
                if not json_lines and not_json >= NOT_JSON_PROBE:
                    raise ObjectError(f"not JSON lines: none of the first {not_json} lines is JSON") from exc
                raise Reject(f"invalid JSON: {exc}") from exc
            json_lines += 1
            escape = b"\\" in line
            if kind == "rejected":
                rejects.append(_ingest_reject(key, line_no, obj, line))
                continue
            # The byte test is a superset (an escaped backslash before u0000 hits it too) that
            # keeps the walk off almost every line; the shared rule decides on decoded values.
            if escape and NUL_ESCAPE in line:
                problem = value_problem(obj)
                if problem is not None:
                    raise Reject(problem)
            fast = _fast_row(obj, tcache, max_late, max_future, window)
            if fast is None:
                row, ts = event_row(obj, max_late=max_late, max_future=max_future, received_window=window)
                row = _copy_ready(row)
            else:
                row, ts = fast
        except Reject as r:
            payload, raw = _payload_and_raw(line, obj)
            rejects.append((key, line_no, None, "etl", str(r), payload, raw, *_ctx(obj), 1))
            continue
        eid = row[0]
        if eid in seen:
            po.duplicates_in_object += 1
            continue
        seen.add(eid)
        if eid in exclude:
            po.excluded += 1
            continue
        out.append(copy_line(row, escape))
        id_out.append(f"{eid}\t{row[1]}")
        ids.append(eid)
        uts = ts.astimezone(utc)
        if row[24] is not None:
            _note_products(po.products, obj["items"], uts)
        days.add(uts.date())
        if min_ts is None or uts < min_ts:
            min_ts = uts
        if max_ts is None or uts > max_ts:
            max_ts = uts
        _note_session(sessions, row, uts)
        if row[2] == "purchase" and row[26] == "f":
            po.purchases.append((row[23], eid, row[1], row[8], row[7], row[9], row[21], row[22],
                                 row[24], row[25]))
    if not json_lines and not_json:
        raise ObjectError(f"not JSON lines: none of its {not_json} lines is JSON")
    if stream.error is not None:
        rejects.append(_remainder(po, stream.error, tail, last_line))
    po.stream_error, po.decompressed = stream.error, stream.decompressed
    po.min_ts, po.max_ts = min_ts, max_ts
    if out:
        po.copy_text = ("\n".join(out) + "\n").encode()
        po.id_text = ("\n".join(id_out) + "\n").encode()
    po.sessions = [(sid, uid, *agg) for (sid, uid), agg in sessions.items()]
    for _ in source:  # a stream that broke early has not read every chunk
        pass
    po.body = body_parts[0] if len(body_parts) == 1 else b"".join(body_parts)
    return po


def _remainder(po: ParsedObject, error: str, tail: tuple[int, bytes | None] | None, last_line: int) -> tuple:
    """The reject row for what a broken stream could not deliver, counted once in ``lines``.

    It stands for the events the writer declared beyond the complete lines (0 when its
    count says none is missing), or for one line when there is no declared count.
    """
    complete = po.lines
    po.lines += 1
    missing = max(po.declared - complete, 0) if po.declared is not None else 1
    label = TRUNCATED if error.startswith(TRUNCATED) else CORRUPT
    what = (f"{missing} declared event(s)" if po.declared is not None else "the rest of the object")
    line_no = tail[0] if tail is not None else last_line + 1
    raw = None
    if tail is not None and tail[1]:
        raw = tail[1][:_MAX_RAW].decode("utf-8", "replace").replace("\x00", "\ufffd")
    reason = f"{label}: {what} unreadable after line {last_line} ({error})"
    return (po.key, line_no, None, "etl", reason[:1000], None, raw, None, None, None, missing)


def _note_session(sessions: dict[tuple[str, str | None], list], row: tuple, uts: datetime) -> None:
    """Fold one row into its (session, user_id) partial: first event by (time, id) wins."""
    k = (row[8], row[9])
    agg = sessions.get(k)
    pv = row[2] == "page_view"
    if agg is None:
        sessions[k] = [uts, row[0], uts, 1, int(pv), row[10], row[11], row[13], row[14],
                       row[15], row[16], row[17], row[18], row[19], row[25], row[26] == "t",
                       row[27], row[7]]
        return
    if uts < agg[0] or (uts == agg[0] and row[0] < agg[1]):
        agg[0], agg[1] = uts, row[0]
        agg[5:] = (row[10], row[11], row[13], row[14], row[15], row[16], row[17], row[18],
                   row[19], row[25], row[26] == "t", row[27], row[7])
    if uts > agg[2]:
        agg[2] = uts
    agg[3] += 1
    agg[4] += pv


def _note_products(products: dict[str, list], items: list[dict], ts: datetime) -> None:
    """Keep each product's first/last sighting and its latest attributes (already validated)."""
    for it in items:
        cur = products.get(it["item_id"])
        attrs = (it.get("item_name"), it.get("item_brand"), it.get("item_category"), it.get("price"))
        if cur is None:
            products[it["item_id"]] = [ts, ts, *attrs]
        else:
            if ts < cur[0]:
                cur[0] = ts
            if ts >= cur[1]:
                cur[1] = ts
                cur[2:] = attrs


def merge_products(objs: Iterable[ParsedObject]) -> dict[str, list]:
    """Products of several objects, latest attributes winning."""
    out: dict[str, list] = {}
    for o in objs:
        for item_id, (first, last, *attrs) in o.products.items():
            cur = out.get(item_id)
            if cur is None:
                out[item_id] = [first, last, *attrs]
                continue
            cur[0] = min(cur[0], first)
            if last >= cur[1]:
                cur[1] = last
                cur[2:] = attrs
    return out


def _ingest_reject(key: str, line_no: int, obj: object, line: bytes) -> tuple:
    """A line of an ingest-time reject object: keep its reason and original payload."""
    if not isinstance(obj, dict):
        payload, raw = _payload_and_raw(line, obj)
        return (key, line_no, None, "ingest", "unreadable ingest reject record", payload, raw,
                None, None, None, 1)
    reason = obj.get("reason")
    reason = clean_text(reason[:1000]) if isinstance(reason, str) and reason else "unspecified ingest reject"
    index = obj.get("index")
    index = index if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < 2**31 else None
    payload, raw = _payload_and_raw(line, obj.get("payload"))
    return (key, line_no, index, "ingest", reason, payload, raw, *_ctx(obj), 1)
