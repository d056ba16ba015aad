"""Turn one raw S3 object into staging rows and reject rows.

The ETL defends itself per line even though the ingest Lambda validated the events: the
lake is append-only and anything with write access can put an object there. A bad line
becomes a reject row (reason + payload or raw text) and the rest of the object loads; an
object that cannot be read at all (not gzip, truncated, over the size limits) raises
:class:`ObjectError` and is recorded as failed by the runner.

Everything a row carries has been checked so that PostgreSQL can never refuse it: no NUL
characters, numbers within numeric(18,4), canonical UUIDs and ISO timestamps, items
re-serialised with known keys and types only. That is what lets one COPY carry many
objects without one bad value failing the rest.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import orjson

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
    "request_id", "received_at",
)

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TS = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})", re.IGNORECASE
)
_FRACTION = re.compile(r"(\.\d{6})\d+")
_MAX_MONEY = 1e13  # numeric(18,4) holds 14 integer digits
_MAX_RAW = 8192
_CHUNK = 1024 * 1024


class ObjectError(Exception):
    """The object as a whole cannot be read; nothing from it is loaded."""


class Reject(Exception):
    """One line is refused, with the reason stored in dw.rejected_events."""


# -- gunzip ---------------------------------------------------------------------------------
def gunzip_chunks(chunks: Iterable[bytes], max_total: int) -> Iterator[bytes]:
    """Stream-decompress (multi-member) gzip, never producing more than ``max_total`` bytes.

    The output bound is enforced while decompressing (``max_length``), so a gzip bomb costs
    at most ``max_total`` bytes of memory and time before it is refused.
    """
    d = zlib.decompressobj(wbits=31)
    member_input = False  # has the current gzip member been fed anything?
    total = 0
    for chunk in chunks:
        data = chunk
        if data:
            member_input = True
        while True:
            try:
                out = d.decompress(data, _CHUNK)
            except zlib.error as exc:
                raise ObjectError(f"not a valid gzip stream: {exc}") from exc
            total += len(out)
            if total > max_total:
                raise ObjectError(f"decompressed size exceeds the limit of {max_total} bytes")
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
            if not data and len(out) < _CHUNK:
                break
    if member_input and not d.eof:
        raise ObjectError("truncated gzip stream (no end-of-stream marker)")


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


def event_row(ev: object, *, max_late: timedelta, max_future: timedelta) -> tuple:
    """Validate one accepted event and return its staging row (see :data:`EVENT_COLUMNS`)."""
    if not isinstance(ev, dict):
        raise Reject("not a JSON object")
    event_id = ev.get("event_id")
    if not isinstance(event_id, str) or not _UUID.fullmatch(event_id):
        raise Reject("invalid event_id: not a UUID")
    name = ev.get("event_name")
    if name not in EVENT_NAMES:
        raise Reject("invalid event_name")
    event_ts = parse_ts(ev.get("event_ts"), "event_ts")
    received_at = parse_ts(ev.get("received_at"), "received_at")
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


# -- objects --------------------------------------------------------------------------------
@dataclass
class ParsedObject:
    """Everything the loader needs from one object (rows hold no file_id yet)."""

    key: str
    kind: str  # "events" | "rejected"
    dt: date
    etag: str | None
    size: int | None
    lines: int = 0
    rows: list[tuple] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    rejects: list[tuple] = field(default_factory=list)
    days: set[date] = field(default_factory=set)
    min_ts: datetime | None = None
    max_ts: datetime | None = None
    duplicates_in_object: int = 0
    #: item_id -> [first_seen, last_seen, name, brand, category, price] (latest attributes)
    products: dict[str, list] = field(default_factory=dict)


def _payload_and_raw(line: bytes | None, obj: object | None) -> tuple[str | None, str | None]:
    """What to keep of a refused line: JSON if PostgreSQL's jsonb can hold it, else text."""
    if obj is not None:
        dumped = orjson.dumps(obj)
        if b"\\u0000" not in dumped:
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
        out.append(v if isinstance(v, str) and len(v) <= limit and "\x00" not in v else None)
    try:
        rec = parse_ts(obj.get("received_at"), "received_at").isoformat()
    except Reject:
        rec = None
    return out[0], out[1], rec


def parse_object(
    key: str, kind: str, dt: date, etag: str | None, size: int | None,
    chunks: Iterable[bytes], *, max_decompressed: int, max_line: int,
    max_late: timedelta, max_future: timedelta,
) -> ParsedObject:
    """Read, validate and split one object into rows and rejects."""
    po = ParsedObject(key=key, kind=kind, dt=dt, etag=etag, size=size)
    seen: set[str] = set()
    rows, ids, rejects, days = po.rows, po.event_ids, po.rejects, po.days
    min_ts = max_ts = None
    loads = orjson.loads
    for line_no, line, length in iter_lines(gunzip_chunks(chunks, max_decompressed), max_line=max_line):
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
                raise Reject(f"invalid JSON: {exc}") from exc
            if b"\\u0000" in line:
                raise Reject("NUL character in a string")
            if kind == "rejected":
                rejects.append(_ingest_reject(key, line_no, obj, line))
                continue
            row, ts = event_row(obj, max_late=max_late, max_future=max_future)
        except Reject as r:
            payload, raw = _payload_and_raw(line, obj)
            rejects.append((key, line_no, None, "etl", str(r), payload, raw, *_ctx(obj)))
            continue
        if row[0] in seen:
            po.duplicates_in_object += 1
            continue
        seen.add(row[0])
        rows.append(row)
        ids.append(row[0])
        uts = ts.astimezone(UTC)
        if row[24] is not None:
            _note_products(po.products, obj["items"], uts)
        days.add(uts.date())
        if min_ts is None or uts < min_ts:
            min_ts = uts
        if max_ts is None or uts > max_ts:
            max_ts = uts
    po.min_ts, po.max_ts = min_ts, max_ts
    return po


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
                None, None, None)
    reason = obj.get("reason")
    reason = reason[:1000] if isinstance(reason, str) and reason else "unspecified ingest reject"
    index = obj.get("index")
    index = index if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < 2**31 else None
    payload, raw = _payload_and_raw(line, obj.get("payload"))
    return (key, line_no, index, "ingest", reason, payload, raw, *_ctx(obj))
