"""An object's parse without some of its events, derived from its first parse: no second parse.

Why: the loader leaves out of each object the event ids the warehouse already has or an
earlier object of the batch holds (:mod:`etl.loading`, step 4). At the lake's design size
nearly every object holds some redelivered duplicate, and parsing its body again to leave
them out cost as much as the first parse (the typed row build is the expensive part). What
the first parse produced already holds every kept row: one COPY text line per kept event in
``copy_text`` (which :func:`etl.copytext.decode_copy_line` turns back into the exact strings
the parse folded), one line in ``id_text``, one id in ``event_ids``, all in the same order,
and one ``purchases_text`` line per kept non-bot purchase. So :func:`refold` drops the lines
of the excluded ids and folds the remaining rows again, only as far as the dropped rows
touched anything:

* ``copy_text``, ``id_text``, ``event_ids`` and the purchases lose the dropped rows' lines;
* a session partial is recomputed only when a dropped row belonged to it (from its remaining
  rows, in their order); the others keep their COPY text line as it was;
* a product is recomputed only when a dropped row's items name it;
* days and the min/max event time come from every remaining row's ``event_ts`` text.

The result equals ``parse_object(body, exclude=...)`` field by field
(``tests/unit/etl/test_refold.py``), which stays the reference and the fallback
(:meth:`etl.parsing.ParsedObject.reparse_async` parses the body again when there are no
rows to refold). Either form of a :class:`~etl.parsing.ParsedObject` refolds: the shipped
one (COPY text only) gives a shipped one; a full one keeps its row tuples too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Set
from datetime import UTC, datetime

import orjson

from etl.copytext import copy_rows, decode_copy_line
from etl.fields import COL
from etl.parsing import _ITEM_ATTRS, _SESSION_FIRST_COLUMNS, ParsedObject, _note_products

__all__ = ["RefoldError", "refold"]


class RefoldError(ValueError):
    """The object's COPY text does not hold one line per event id: re-parse its body instead."""

_ID, _TS, _NAME, _SESSION, _USER, _ITEMS = (
    COL[c] for c in ("event_id", "event_ts", "event_name", "session_id", "user_id", "items"))
_KEY_SPLITS = max(_SESSION, _USER) + 1  # split a line this far to reach its session key
_NONE = b"\\N"


def _text(field: bytes) -> str | None:
    """One COPY text field back to the value it was written from."""
    if field == _NONE:
        return None
    if b"\\" not in field:
        return field.decode()
    return decode_copy_line(field.decode())[0]


def refold(po: ParsedObject, exclude: Set[str]) -> ParsedObject:
    """``po`` as ``parse_object`` would have parsed it with ``exclude`` left out (see the module doc).

    ``po`` is not changed; ``excluded`` of the result adds the rows dropped here, so a
    refold of a refold equals one parse leaving out both sets.
    """
    ids = po.event_ids
    dropped = {eid for eid in ids if eid in exclude}
    out = object.__new__(ParsedObject)  # a shallow copy: dataclasses.replace re-runs __init__
    out.__dict__.update(po.__dict__)
    if not dropped:
        return out
    lines = po.copy_text.split(b"\n")
    id_lines = po.id_text.split(b"\n")
    if len(lines) != len(ids) + 1 or len(id_lines) != len(ids) + 1 or lines[-1] or id_lines[-1]:
        raise RefoldError(f"{po.key}: {len(ids)} event ids, {len(lines) - 1} COPY lines")
    keep = [i for i, eid in enumerate(ids) if eid not in dropped]
    touched, gone, gone_ts = _touched([lines[i] for i, eid in enumerate(ids) if eid in dropped])
    products = {k: v for k, v in po.products.items() if k not in gone}
    fold = _Fold(po, touched, gone, gone_ts, products)
    for i in keep:
        fold.row(i, lines[i])
    out.event_ids = [ids[i] for i in keep]
    out.copy_text = b"\n".join([lines[i] for i in keep]) + b"\n" if keep else b""
    out.id_text = b"\n".join([id_lines[i] for i in keep]) + b"\n" if keep else b""
    out.days, out.products = po.days - fold.pending_days, products
    out.min_ts, out.max_ts = (fold.min_ts, fold.max_ts) if fold.all_ts else (po.min_ts, po.max_ts)
    out.excluded = po.excluded + len(dropped)
    _refold_sessions(po, out, lines, fold.order, fold.aggs)
    _refold_purchases(po, out, dropped)
    return out


def _uts(text: bytes) -> datetime:
    """The instant a row's ``event_ts`` text stands for, in UTC (as the parse folded it)."""
    return datetime.fromisoformat(text.decode()).astimezone(UTC)


def _touched(lines: list[bytes]) -> tuple[set[tuple[bytes, bytes]], set[str], list[datetime]]:
    """The session keys (as COPY text), the product ids and the event times of the dropped rows."""
    touched: set[tuple[bytes, bytes]] = set()
    gone: set[str] = set()
    times = []
    for line in lines:
        f = line.split(b"\t")
        touched.add((f[_SESSION], f[_USER]))
        times.append(_uts(f[_TS]))
        if f[_ITEMS] != _NONE:
            gone.update(it["item_id"] for it in orjson.loads(_text(f[_ITEMS])))
    return touched, gone, times


def _mentions(ids: set[str]) -> Callable[[bytes], object] | None:
    """A test that a COPY line may hold one of these item ids in its items JSON (no false
    negatives), or None when every line with items must be read.

    An id of printable ASCII without a quote or a backslash is written as itself between
    quotes by both JSON encoders the row builders use, and COPY text escapes none of it.
    """
    if not ids:
        return lambda _line: False
    if not all(i.isascii() and i.isprintable() and '"' not in i and "\\" not in i for i in ids):
        return None
    return re.compile(b"|".join(re.escape(b'"' + i.encode() + b'"') for i in sorted(ids))).search


class _Fold:
    """The remaining rows folded again in their order (the first parse's): the order in which
    sessions first appear, the touched sessions and products from scratch, and the event times
    only as far as the dropped rows make them matter (a day only they had, the min or max)."""

    def __init__(self, po: ParsedObject, touched: set[tuple[bytes, bytes]], gone: set[str],
                 gone_ts: list[datetime], products: dict[str, list]) -> None:
        self.touched, self.gone, self.products = touched, gone, products
        self.mentions = _mentions(gone)
        #: Days of dropped rows no remaining row has been seen on yet.
        self.pending_days = {t.date() for t in gone_ts}
        #: Every remaining row's time is needed when a dropped row held the min or the max.
        self.all_ts = any(t in (po.min_ts, po.max_ts) for t in gone_ts)
        self.min_ts: datetime | None = None
        self.max_ts: datetime | None = None
        self.order: dict[tuple[bytes, bytes], None] = {}
        #: session key -> [started, first event id, ended, events, page views, first row's index]
        self.aggs: dict[tuple[bytes, bytes], list] = {}

    def row(self, i: int, line: bytes) -> None:
        f = line.split(b"\t", _KEY_SPLITS)
        k = (f[_SESSION], f[_USER])
        self.order[k] = None
        in_session = k in self.touched
        in_products = self.gone and (self.mentions is None or self.mentions(line))
        if not (in_session or in_products or self.all_ts or self.pending_days):
            return
        uts = _uts(f[_TS])
        if self.pending_days:
            self.pending_days.discard(uts.date())
        if self.all_ts:
            if self.min_ts is None or uts < self.min_ts:
                self.min_ts = uts
            if self.max_ts is None or uts > self.max_ts:
                self.max_ts = uts
        if in_session:
            self._session(k, f, uts, i)
        if in_products:
            self._products(line, uts)

    def _products(self, line: bytes, uts: datetime) -> None:
        items = line.split(b"\t")[_ITEMS]
        if items != _NONE:
            mine = [it for it in orjson.loads(_text(items)) if it["item_id"] in self.gone]
            if mine:
                _note_products(self.products, mine, _ITEM_ATTRS, uts)

    def _session(self, k: tuple[bytes, bytes], f: list[bytes], uts: datetime, i: int) -> None:
        """As :func:`etl.parsing._note_session`: the first event by (time, id) wins."""
        eid, pv = f[_ID], f[_NAME] == b"page_view"
        agg = self.aggs.get(k)
        if agg is None:
            self.aggs[k] = [uts, eid, uts, 1, int(pv), i]
            return
        if uts < agg[0] or (uts == agg[0] and eid < agg[1]):
            agg[0], agg[1], agg[5] = uts, eid, i
        if uts > agg[2]:
            agg[2] = uts
        agg[3] += 1
        agg[4] += pv


def _session_row(sid: bytes, uid: bytes, agg: list, line: bytes) -> tuple:
    """A touched session's partial, as :func:`etl.parsing._note_session` builds it."""
    row = decode_copy_line(line.decode())
    first = [row[COL[c]] for c in _SESSION_FIRST_COLUMNS]
    bot = _SESSION_FIRST_COLUMNS.index("is_bot")
    first[bot] = first[bot] == "t"
    return (_text(sid), _text(uid), agg[0], agg[1].decode(), agg[2], agg[3], agg[4], *first)


def _refold_sessions(po: ParsedObject, out: ParsedObject, lines: list[bytes],
                     order: dict[tuple[bytes, bytes], None], aggs: dict[tuple[bytes, bytes], list]) -> None:
    """Sessions in the order they first appear in the remaining rows: untouched ones as they were."""
    old_lines = {tuple(line.split(b"\t", 2)[:2]): line for line in po.sessions_text.split(b"\n")[:-1]}
    old_rows = {(s[0], s[1]): s for s in po.sessions}
    text: list[bytes] = []
    rows: list[tuple] = []
    for k in order:
        agg = aggs.get(k)
        if agg is None:
            text.append(old_lines[k])
            if po.sessions:
                rows.append(old_rows[(_text(k[0]), _text(k[1]))])
        else:
            row = _session_row(*k, agg, lines[agg[5]])
            text.append(copy_rows([row])[:-1])
            if po.sessions:
                rows.append(row)
    out.sessions_text = b"\n".join(text) + b"\n" if text else b""
    out.sessions = rows


def _refold_purchases(po: ParsedObject, out: ParsedObject, dropped: set[str]) -> None:
    """The purchase candidates of the remaining rows: the same lines less the dropped events'."""
    kept = [line for line in po.purchases_text.split(b"\n")[:-1]
            if line.split(b"\t", 2)[1].decode() not in dropped]
    out.purchases_text = b"".join([line + b"\n" for line in kept])
    out.purchases = [p for p in po.purchases if p[1] not in dropped]
