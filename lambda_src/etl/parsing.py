"""Turn one raw S3 object into staging rows and reject rows: the object-level flow.

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

The jobs live apart: bytes to lines (:mod:`etl.decoding`), the field table and its limits
from the event schema (:mod:`etl.fields`), the three row builders, COPY text
(:mod:`etl.copytext`). This module reads an object line by line (:class:`_Reader`: build
the row, fold it into the object's partial aggregates) and re-exports the names its callers
use. A line goes the cheapest way that can take it, and every way builds the same bytes
(``tests/unit/etl/test_row_builders.py``):

1. :mod:`etl.typed_row`: msgspec decodes the bytes straight into structs made from the field
   table, so the checks run in C (about half the CPU of the orjson way per event). Lines
   with a backslash skip it: the NUL and escape rules live on the orjson way.
2. Else orjson decodes, :mod:`etl.fast_row` checks the dicts with a few C-level calls,
3. and :mod:`etl.strict_row`, the reference, decides what both declined and says why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter

import orjson
from common.lake import declared_count
from common.text import NUL_ESCAPE, clean_text, text_problem, value_problem

from etl.copytext import copy_line, copy_rows, decode_copy_line
from etl.decoding import (
    MAX_RATIO,
    NOT_JSON_PROBE,
    RATIO_SLACK,
    GzipStream,
    gunzip_chunks,
    is_json_orjson_refuses,
    iter_lines,
)
from etl.derived import referrer_domain
from etl.errors import ObjectError, ReadError, Reject
from etl.fast_row import fast_row
from etl.fields import COL, EVENT_COLUMNS, PURCHASE_COLUMNS, REJECT_COLUMNS, SESSION_COLUMNS
from etl.strict_row import OUTSIDE_PARTITION, event_row, parse_ts
from etl.typed_row import DECLINED, PRODUCT_ATTRS, TypedRows

__all__ = [
    "EVENT_COLUMNS", "MAX_RATIO", "NOT_JSON_PROBE", "OUTSIDE_PARTITION", "PURCHASE_COLUMNS", "RATIO_SLACK",
    "REJECT_COLUMNS", "SESSION_COLUMNS", "GzipStream", "ObjectError", "ParsedObject", "ReadError", "Reject",
    "declared_count", "event_row", "gunzip_chunks", "iter_lines", "merge_products", "parse_object",
    "received_window", "referrer_domain",
]

TRUNCATED = "truncated gzip stream"
CORRUPT = "corrupt gzip stream"
_MAX_RAW = 8192
#: The columns a purchase candidate and a session partial take from a row.
_PURCHASE_OF = itemgetter(*(COL[c] for c in PURCHASE_COLUMNS))
#: The row columns a session partial takes from its first event (:mod:`etl.refold` reads them too).
_SESSION_FIRST_COLUMNS = (
    "page_url", "page_path", "page_referrer", "referrer_domain", "utm_source", "utm_medium",
    "utm_campaign", "utm_term", "utm_content", "device_category", "is_bot", "user_agent", "anonymous_id")
_SESSION_FIRST = itemgetter(*(COL[c] for c in _SESSION_FIRST_COLUMNS))
_BOT_IN_FIRST = 10  # is_bot's place in _SESSION_FIRST (COPY text "t"/"f"; a session keeps a bool)
_ID, _TS, _NAME, _SESSION, _USER = (COL[c] for c in ("event_id", "event_ts", "event_name", "session_id", "user_id"))
_ITEMS, _IS_BOT = COL["items"], COL["is_bot"]


@dataclass
class ParsedObject:
    """Everything the loader needs from one object, ready to COPY (no file_id yet).

    Two forms of the same object: where it was parsed it has everything, the row tuples of
    ``rejects``, ``sessions`` and ``purchases`` (inspection, tests) and the raw ``body`` (to
    re-parse it); what a parse worker ships to the loader (:meth:`for_loader`) has only the
    COPY text, the event ids and the small per-object accounting, which is all the loader
    reads, and re-parses through ``reparser`` (the worker that still holds the body).
    """

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
    #: The same three as COPY text (:data:`REJECT_COLUMNS`, :data:`SESSION_COLUMNS`,
    #: :data:`PURCHASE_COLUMNS` without file_id), and how many reject rows there are.
    rejects_text: bytes = b""
    sessions_text: bytes = b""
    purchases_text: bytes = b""
    reject_rows: int = 0
    #: The raw object and the parse limits, kept so the loader can re-parse it without
    #: rows it must leave out (:meth:`reparse`) with no second GET.
    body: bytes | None = None
    options: dict = field(default_factory=dict)
    #: Where an object shipped without its body is re-parsed: ``reparser(exclude)``, a future.
    reparser: Callable[[frozenset[str] | set[str]], Future[ParsedObject]] | None = field(
        default=None, repr=False, compare=False)

    @property
    def received(self) -> int:
        """What this delivery holds: the writer's count when it gave one, else the lines seen."""
        return self.declared if self.declared is not None else self.lines

    @property
    def received_source(self) -> str:
        return "metadata" if self.declared is not None else "lines"

    def reparse(self, exclude: frozenset[str] | set[str]) -> ParsedObject:
        """This object parsed again, leaving out the rows whose event_id is in ``exclude``."""
        return self.reparse_async(exclude).result()

    def reparse_async(self, exclude: frozenset[str] | set[str]) -> Future[ParsedObject]:
        """:meth:`reparse` started: a worker holding the body starts at once and answers later.

        The loader starts every re-parse of a batch before it waits for any, so the workers
        re-parse side by side instead of one object at a time while PostgreSQL waits.
        """
        if self.body is None:
            if self.reparser is not None:
                return self.reparser(exclude)
            raise ValueError(f"{self.key}: no body kept to re-parse")
        fut: Future[ParsedObject] = Future()
        fut.set_result(parse_object(self.key, self.kind, self.dt, self.etag, self.size, [self.body],
                                    exclude=exclude, declared=self.declared, **self.options))
        return fut

    def seal(self) -> None:
        """Write the COPY text of the rejects, sessions and purchases (the end of a parse)."""
        self.rejects_text = copy_rows(self.rejects)
        self.sessions_text = copy_rows(self.sessions)
        self.purchases_text = copy_rows(self.purchases)
        self.reject_rows = len(self.rejects)

    def for_loader(self) -> ParsedObject:
        """What a parse worker sends the loader: no body, no row tuples (see the class doc)."""
        shipped = object.__new__(ParsedObject)  # a shallow copy: dataclasses.replace re-runs __init__
        shipped.__dict__.update(self.__dict__, body=None, rejects=[], sessions=[], purchases=[], options={},
                                reparser=None)
        return shipped

    @property
    def rows(self) -> list[dict[str, str | None]]:
        """The staged rows decoded by column name (inspection and tests; not the hot path)."""
        text = self.copy_text.decode()
        return [dict(zip(EVENT_COLUMNS, decode_copy_line(line), strict=True))
                for line in text.split("\n")[:-1]]


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


class _Reader:
    """The state of one object's parse: its lines in, rows, rejects and partial aggregates out."""

    def __init__(self, po: ParsedObject, *, exclude: frozenset[str] | set[str], max_line: int,
                 max_late: timedelta, max_future: timedelta) -> None:
        self.po, self.exclude, self.max_line = po, exclude, max_line
        self.max_late, self.max_future = max_late, max_future
        self.window = received_window(po.dt, max_future) if po.kind == "events" else None
        self.seen: set[str] = set()
        self.out: list[str] = []
        self.id_out: list[str] = []
        self.sessions: dict[tuple[str, str | None], list] = {}
        self.tcache: dict[str, datetime] = {}
        self.json_lines = self.not_json = 0
        self.typed = TypedRows(max_late, max_future, self.window) if po.kind == "events" else None

    def line(self, line_no: int, line: bytes | None, length: int) -> None:
        """One non-blank line (None: longer than ``max_line``): a row, a reject or an ObjectError."""
        po = self.po
        po.lines += 1
        if self.typed is not None and line is not None and b"\\" not in line:
            try:
                typed = self.typed.row(line)
            except DECLINED:
                typed = None
            if typed is not None:
                self.json_lines += 1
                self._keep(*typed, PRODUCT_ATTRS, False)
                return
        obj = None
        try:
            if line is None:
                raise Reject(f"line too long: {length} bytes (limit {self.max_line})")
            obj = self._decode(line)
            if po.kind == "rejected":
                po.rejects.append(_ingest_reject(po.key, line_no, obj, line))
                return
            escape = b"\\" in line
            row, ts = self._row(obj, line, escape)
        except Reject as r:
            payload, raw = _payload_and_raw(line, obj)
            po.rejects.append((po.key, line_no, None, "etl", str(r), payload, raw, *_ctx(obj), 1))
            return
        self._keep(row, ts, obj["items"] if row[_ITEMS] is not None else None, _ITEM_ATTRS, escape)

    def _decode(self, line: bytes) -> object:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if is_json_orjson_refuses(line):
                # JSON, but with what orjson (and PostgreSQL) refuse, e.g. a lone surrogate
                # escape: a bad line, not a sign that the object is not JSON lines.
                self.json_lines += 1
                raise Reject(f"invalid JSON: {exc}") from exc
            self.not_json += 1
            if not self.json_lines and self.not_json >= NOT_JSON_PROBE:
                raise ObjectError(f"not JSON lines: none of the first {self.not_json} lines is JSON") from exc
            raise Reject(f"invalid JSON: {exc}") from exc
        self.json_lines += 1
        return obj

    def _row(self, obj: object, line: bytes, escape: bool) -> tuple[tuple, datetime]:
        # The byte test is a superset (an escaped backslash before u0000 hits it too) that
        # keeps the walk off almost every line; the shared rule decides on decoded values.
        if escape and NUL_ESCAPE in line:
            problem = value_problem(obj)
            if problem is not None:
                raise Reject(problem)
        fast = fast_row(obj, self.tcache, self.max_late, self.max_future, self.window)
        if fast is not None:
            return fast
        return event_row(obj, max_late=self.max_late, max_future=self.max_future, received_window=self.window)

    def _keep(self, row: tuple, ts: datetime, items: list | None, attrs: Callable[[object], tuple],
              escape: bool) -> None:
        po = self.po
        eid = row[_ID]
        if eid in self.seen:
            po.duplicates_in_object += 1
            return
        self.seen.add(eid)
        if eid in self.exclude:
            po.excluded += 1
            return
        # copy_line, inlined for the rows of lines without a backslash (nothing to escape)
        self.out.append(copy_line(row, True) if escape else "\t".join(["\\N" if v is None else v for v in row]))
        self.id_out.append(f"{eid}\t{row[_TS]}")
        po.event_ids.append(eid)
        uts = ts.astimezone(UTC)
        if items:
            _note_products(po.products, items, attrs, uts)
        po.days.add(uts.date())
        if po.min_ts is None or uts < po.min_ts:
            po.min_ts = uts
        if po.max_ts is None or uts > po.max_ts:
            po.max_ts = uts
        _note_session(self.sessions, row, uts)
        if row[_NAME] == "purchase" and row[_IS_BOT] == "f":
            po.purchases.append(_PURCHASE_OF(row))

    def finish(self) -> None:
        po = self.po
        if not self.json_lines and self.not_json:
            raise ObjectError(f"not JSON lines: none of its {self.not_json} lines is JSON")
        if self.out:
            po.copy_text = ("\n".join(self.out) + "\n").encode()
            po.id_text = ("\n".join(self.id_out) + "\n").encode()
        po.sessions = [(sid, uid, *agg) for (sid, uid), agg in self.sessions.items()]


def parse_object(
    key: str, kind: str, dt: date, etag: str | None, size: int | None,
    chunks: Iterable[bytes], *, max_decompressed: int, max_line: int,
    max_late: timedelta, max_future: timedelta, exclude: frozenset[str] | set[str] = frozenset(),
    max_ratio: float | None = MAX_RATIO, declared: int | None = None,
) -> ParsedObject:
    """Read, validate and split one object into COPY rows, rejects and partial aggregates.

    Rows whose event_id is in ``exclude`` (already in the warehouse, or earlier in the same
    batch) are left out and counted in ``excluded``, so that everything derived from the
    object (sessions, purchases, days) counts new events only. The loader gets that result
    from :func:`etl.refold.refold` without a second parse; this is its reference (and its
    fallback when an object's COPY text does not line up with its ids).

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
    reader = _Reader(po, exclude=exclude, max_line=max_line, max_late=max_late, max_future=max_future)
    last_line = 0
    tail: tuple[int, bytes | None] | None = None
    for line_no, line, length in iter_lines(stream, max_line=max_line):
        if stream.error is not None:
            # Only the unterminated bytes after a break arrive once the stream has stopped:
            # part of a line, never parsed (it would be a prefix of the real one).
            tail = (line_no, line)
            break
        last_line = line_no
        # Blank lines (a trailing newline) are not events; isspace stops at the first byte of
        # a line, where strip() would copy it.
        if line is None or (line and not line.isspace()):
            reader.line(line_no, line, length)
    reader.finish()
    if stream.error is not None:
        po.rejects.append(_remainder(po, stream.error, tail, last_line))
    po.stream_error, po.decompressed = stream.error, stream.decompressed
    for _ in source:  # a stream that broke early has not read every chunk
        pass
    po.body = body_parts[0] if len(body_parts) == 1 else b"".join(body_parts)
    po.seal()
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
    k = (row[_SESSION], row[_USER])
    agg = sessions.get(k)
    pv = row[_NAME] == "page_view"
    eid = row[_ID]
    if agg is None:
        first = list(_SESSION_FIRST(row))
        first[_BOT_IN_FIRST] = first[_BOT_IN_FIRST] == "t"
        sessions[k] = [uts, eid, uts, 1, int(pv), *first]
        return
    if uts < agg[0] or (uts == agg[0] and eid < agg[1]):
        agg[0], agg[1] = uts, eid
        first = list(_SESSION_FIRST(row))
        first[_BOT_IN_FIRST] = first[_BOT_IN_FIRST] == "t"
        agg[5:] = first
    if uts > agg[2]:
        agg[2] = uts
    agg[3] += 1
    agg[4] += pv


def _item_attrs(it: dict) -> tuple:
    return (it["item_id"], it.get("item_name"), it.get("item_brand"), it.get("item_category"), it.get("price"))


_ITEM_ATTRS = _item_attrs


def _note_products(products: dict[str, list], items: list, attrs: Callable[[object], tuple], ts: datetime) -> None:
    """Keep each product's first/last sighting and its latest attributes (already validated).

    ``attrs`` reads (item_id, name, brand, category, price) of an item: a dict from orjson or
    a struct from :mod:`etl.typed_row`.
    """
    for it in items:
        a = attrs(it)
        cur = products.get(a[0])
        if cur is None:
            products[a[0]] = [ts, ts, *a[1:]]
        else:
            if ts < cur[0]:
                cur[0] = ts
            if ts >= cur[1]:
                cur[1] = ts
                cur[2:] = a[1:]


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
