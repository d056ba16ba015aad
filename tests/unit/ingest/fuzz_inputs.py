"""Hostile requests for the ingest fuzz suite, grown by input class, each knowing what it sent.

Every strategy yields a :class:`Case`: the API Gateway event, how many events its envelope
holds (when it is one for the allowed app), which events must be accepted and which must be
rejected whenever the answer is 200, and whether the answer must be 200 at all. Those
expectations come from the contract (ARCHITECTURE section 4), the schema file and the
parsers' documented limits, never from running ingest.

The classes the audit named: nesting depth 240-1,100, lone and paired surrogates, NUL in
every place (values, keys, headers, request id), the escaped-backslash text ``\\u0000``,
numbers past double and 64-bit range, duplicate keys, very long strings, encodings (UTF-16,
UTF-32, Latin-1, BOM), base64 and gzip transports, odd headers, methods, paths and API
Gateway events.

Over 500 lines on purpose: one strategy per input class, each short, kept beside the
others so a reader sees every class the fuzz suite sends in one place.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from common.schema import events_v1
from hypothesis import strategies as st
from ingest_helpers import APP_ID, make_event

SCHEMA = events_v1()
EVENT_PROPS = SCHEMA["$defs"]["event"]["properties"]
NAMES = EVENT_PROPS["event_name"]["enum"]
MAX_BODY_BYTES = 1_048_576  # the Settings default the suite runs with
#: orjson's documented parse limit; the stdlib fallback nests safely to a few hundred.
ORJSON_MAX_DEPTH = 1024
FALLBACK_SAFE_DEPTH = 200
SENT_AT = "2026-11-22T04:31:00Z"
FIXED_TS = "2026-11-22T04:30:59.500Z"


def _free_text_fields() -> dict[tuple[Any, ...], int]:
    """Paths of strings with a length limit and no pattern, enum or format, from the schema."""
    out: dict[tuple[Any, ...], int] = {}
    sources = {(): EVENT_PROPS, ("page",): SCHEMA["$defs"]["page"]["properties"],
               ("items", 0): SCHEMA["$defs"]["item"]["properties"]}
    for prefix, props in sources.items():
        for name, prop in props.items():
            types = prop.get("type")
            is_str = types == "string" or (isinstance(types, list) and "string" in types)
            if is_str and "maxLength" in prop and not {"pattern", "enum", "format"} & set(prop):
                out[(*prefix, name)] = prop["maxLength"]
    out[("params", "note")] = EVENT_PROPS["params"]["additionalProperties"]["maxLength"]
    return out


FREE_TEXT = _free_text_fields()
#: Strings the schema constrains by pattern or format: anything odd in them is a reject.
PATTERNED = [("event_id",), ("event_ts",), ("anonymous_id",), ("session_id",), ("page", "url"),
             ("page", "path"), ("transaction_id",), ("currency",)]
ENRICHMENT_KEYS = frozenset({"app_id", "sent_at", "received_at", "request_id", "ip_anon", "user_agent"})


# -- JSON text with what json.dumps cannot write -------------------------------------------
@dataclass(frozen=True)
class Raw:
    """A JSON fragment written as is (a number literal, deep nesting)."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """An object written member by member, so a key may appear twice."""

    items: tuple[tuple[str, Any], ...]


def _has_surrogate(s: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in s)


def to_json(value: Any, *, ascii_only: bool = False) -> str:
    """JSON text of ``value``: NUL and lone surrogates as escapes, Raw and Pairs as they are."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs | dict):
        items = value.items if isinstance(value, Pairs) else tuple(value.items())
        return "{" + ",".join(to_json(k, ascii_only=ascii_only) + ":" + to_json(v, ascii_only=ascii_only)
                              for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_json(v, ascii_only=ascii_only) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=ascii_only or _has_surrogate(value))
    return json.dumps(value)


def set_path(event: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``event`` with ``value`` at ``path`` (creating page, items, params on the way)."""
    ev = copy.deepcopy(event)
    node = ev
    for i, part in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(node, dict) and part not in node:
            node[part] = [{"item_id": "SKU-1", "quantity": 1}] if part == "items" else {}
        node = node[part]
        if isinstance(nxt, int) and not node:
            node.append({"item_id": "SKU-1", "quantity": 1})
    node[path[-1]] = value
    return ev


# -- one hostile event ----------------------------------------------------------------------
@dataclass
class Hostile:
    """A hostile event: the value to write, and what the contract says must happen to it."""

    value: Any
    label: str
    #: True: must be accepted; False: must be rejected; None: either is within the contract.
    verdict: bool | None
    #: Expected decoded value when it must be accepted (None: the value itself).
    decoded: Any = None
    #: Containers from the event down to its deepest value (the event object itself is 1).
    depth: int = 3
    #: orjson refuses the body for this value (the stdlib fallback must read it).
    lenient: bool = False


short_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


@st.composite
def deep_events(draw: st.DrawFn, base: dict) -> Hostile:
    d = draw(st.integers(240, 1100))
    shape = draw(st.sampled_from(["array", "object", "mixed"]))
    if shape == "array":
        text = "[" * d + "]" * d
    elif shape == "object":
        text = '{"a":' * d + "0" + "}" * d
    else:
        text = '[{"a":' * (d // 2) + "[]" + "}]" * (d // 2)
        d = 2 * (d // 2) + 1
    where = draw(st.sampled_from([(), ("page",), ("page", "title"), ("params", "x"), ("items", 0)]))
    value = Raw(text) if where == () else set_path(base, where, Raw(text))
    # The event object and the containers on the way hold the nested value: len(where) levels.
    return Hostile(value, "depth", False, depth=d + len(where))


#: (text, whether it is valid): lone surrogates (and a low-high pair, two lone ones) are not;
#: astral characters, which JSON writes as a high-low escape pair, are.
SURROGATES = [("\ud800", False), ("\udbff", False), ("\udc00", False), ("\udfff", False),
              ("\udc00\ud800", False), ("\U0001f600", True), ("\U0010ffff", True)]


@st.composite
def surrogate_events(draw: st.DrawFn, base: dict) -> Hostile:
    sur, valid = draw(st.sampled_from(SURROGATES))
    lone = not valid
    if draw(st.booleans()):
        path = draw(st.sampled_from(sorted(FREE_TEXT)))
        text = "a" + draw(short_text)[:8] + sur
        ev = set_path(base, path, text)
        return Hostile(ev, "surrogate", not lone, depth=len(path) + 1, lenient=lone)
    where = draw(st.sampled_from([("params",), ()]))  # a key: never a valid property name
    key = "k" + sur
    ev = set_path(base, (*where, key), "v")
    return Hostile(ev, "surrogate-key", False, lenient=lone)


@st.composite
def nul_events(draw: st.DrawFn, base: dict) -> Hostile:
    place = draw(st.sampled_from(["free", "patterned", "key", "item-key"]))
    nul = draw(st.sampled_from(["\x00", "a\x00", "\x00\x00b", "\\\x00", "x" * 5 + "\x00"]))
    if place == "free":
        path = draw(st.sampled_from(sorted(FREE_TEXT)))
        return Hostile(set_path(base, path, "a" + nul), "nul", False, depth=len(path) + 1)
    if place == "patterned":
        path = draw(st.sampled_from(PATTERNED))
        old = base
        for p in path:
            old = old.get(p, "") if isinstance(old, dict) else ""
        return Hostile(set_path(base, path, f"{old}{nul}"), "nul", False)
    where = ("params",) if place == "key" else ("items", 0)
    return Hostile(set_path(base, (*where, "k" + nul), "v"), "nul-key", False)


@st.composite
def backslash_nul_events(draw: st.DrawFn, base: dict) -> Hostile:
    """The six characters backslash-u-0-0-0-0: ordinary text, which must be accepted."""
    path = draw(st.sampled_from(sorted(FREE_TEXT)))
    text = draw(st.sampled_from(["\\u0000", "a\\u0000b", "\\\\u0000", "x\\u0000\\u0000"]))
    return Hostile(set_path(base, path, text), "backslash-u0000", True, depth=len(path) + 1)


NUMBERS = ["1e400", "-1e400", "1" + "0" * 400, "9" * 5000, "18446744073709551616", "18446744073709551615",
           "-9223372036854775808", "-9223372036854775809", "-0", "-0.0", "1e-400", "0.1e309", "1E+308",
           "123456789012345678901234567890", "1000000000", "1000000000.0000001", "999999999.99"]


def reading(literal: str) -> int | float | None:
    """What a JSON number literal means to the lake (orjson's documented reading: an integer
    literal within 64 bits is an int, anything else a double); None when not finite."""
    if literal.lstrip("-").isdigit() and len(literal) < 25 and -(2**63) <= int(literal) <= 2**64 - 1:
        return int(literal)
    number = float(literal)
    return number if math.isfinite(number) else None


@st.composite
def number_events(draw: st.DrawFn, base: dict) -> Hostile:
    literal = draw(st.sampled_from(NUMBERS))
    number = reading(literal)
    where = draw(st.sampled_from(["params", "value", "price", "quantity"]))
    if where == "params":
        ev = set_path(base, ("params", "x"), Raw(literal))
        verdict = number is not None
        decoded = set_path(base, ("params", "x"), number) if verdict else None
    elif where == "value":
        ev = {**base, "event_name": "purchase", "transaction_id": "T-1", "currency": "EUR",
              "items": [{"item_id": "SKU-1"}], "value": Raw(literal)}
        verdict = number is not None and 0 <= number <= 1e9
        decoded = {**ev, "value": number}
    elif where == "price":
        ev = set_path(base, ("items", 0, "price"), Raw(literal))
        verdict = number is not None and 0 <= number <= 1e9
        decoded = set_path(base, ("items", 0, "price"), number)
    else:  # an integer 1..10000 in the schema: none of these literals is one
        ev = set_path(base, ("items", 0, "quantity"), Raw(literal))
        verdict, decoded = False, None
    return Hostile(ev, "number", verdict, decoded=decoded if verdict else None, lenient=number is None)


@st.composite
def duplicate_key_events(draw: st.DrawFn, base: dict) -> Hostile:
    """Members repeated: the last one counts (orjson and the stdlib agree)."""
    key, bad, good = draw(st.sampled_from([
        ("event_name", "teleport", base["event_name"]),
        ("anonymous_id", "has space", base["anonymous_id"]),
        ("page", {"url": "ftp://x"}, base["page"]),
        ("event_id", "not-a-uuid", base["event_id"]),
    ]))
    good_last = draw(st.booleans())
    first, last = (bad, good) if good_last else (good, bad)
    items = [(k, v) for k, v in base.items() if k != key]
    items[1:1] = [(key, first)]
    items.append((key, last))
    return Hostile(Pairs(tuple(items)), "duplicate-key", good_last, decoded=dict(items) if good_last else None)


@st.composite
def long_string_events(draw: st.DrawFn, base: dict) -> Hostile:
    path, limit = draw(st.sampled_from(sorted(FREE_TEXT.items())))
    n = draw(st.sampled_from([limit, limit + 1, 10_000, 100_000, 300_000]))
    ch = draw(st.sampled_from(["x", "\u00e9", "\U0001f600", "\\", '"', "\u2028"]))
    return Hostile(set_path(base, path, ch * n), "long-string", n <= limit, depth=len(path) + 1)


@st.composite
def wide_events(draw: st.DrawFn, base: dict) -> Hostile:
    """Every string of 100 items at its limit: valid, and its stored line near 128-768 KB."""
    ch = draw(st.sampled_from(["x", "\u00e9", "\U0001f600", "\x01"]))
    item_props = SCHEMA["$defs"]["item"]["properties"]
    item = {k: ch * p["maxLength"] for k, p in item_props.items() if "maxLength" in p}
    item.update(price=1.5, quantity=1)
    ev = {**base, "event_name": "view_item_list", "items": [dict(item) for _ in range(100)]}
    return Hostile(ev, "wide", None)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@st.composite
def junk_events(draw: st.DrawFn, base: dict) -> Hostile:
    """Anything JSON, or a valid event with one field replaced by anything JSON."""
    value = draw(json_values)
    if draw(st.booleans()):
        return Hostile(value, "junk", None if isinstance(value, dict) else False)
    key = draw(st.sampled_from(sorted(EVENT_PROPS)))
    return Hostile({**base, key: value}, "junk-field", None)


HOSTILE = [deep_events, surrogate_events, nul_events, backslash_nul_events, number_events,
           duplicate_key_events, long_string_events, wide_events, junk_events]


# -- requests -------------------------------------------------------------------------------
@dataclass
class Case:
    """One request and what the contract requires of the answer."""

    label: str
    event: Any
    #: Events in the envelope when it is one for the allowed app (None: no 200 is possible).
    sent: int | None = None
    #: index -> decoded event that must be accepted, and stored as decoded, whenever 200.
    keep: dict[int, Any] = field(default_factory=dict)
    #: Indices that must be rejected whenever the answer is 200.
    refuse: frozenset[int] = frozenset()
    must_200: bool = False
    preflight: bool = False


def api_event(body: str | Any, *, b64: bool = False, headers: dict[str, Any] | None = None,
              method: Any = "POST", path: Any = "/v1/events", stage: Any = "$default",
              request_id: Any = "req-fuzz", source_ip: Any = "203.0.113.57",
              user_agent: Any = "Mozilla/5.0 fuzz") -> dict[str, Any]:
    """An HTTP API payload 2.0 event, every part replaceable."""
    hdrs = {"content-type": "application/json", "user-agent": "Mozilla/5.0 fuzz", **(headers or {})}
    return {
        "version": "2.0", "routeKey": "POST /v1/events", "rawPath": path, "rawQueryString": "",
        "headers": hdrs, "body": body, "isBase64Encoded": b64,
        "requestContext": {"requestId": request_id, "stage": stage,
                           "http": {"method": method, "path": path, "sourceIp": source_ip,
                                    "userAgent": user_agent}},
    }


@st.composite
def transports(draw: st.DrawFn, data: bytes) -> tuple[str, bool, dict[str, str]]:
    """The same bytes as text, base64, or gzip (with Content-Encoding or by magic bytes)."""
    mode = draw(st.sampled_from(["text", "base64", "gzip", "x-gzip", "gzip-magic", "identity"]))
    headers: dict[str, str] = {}
    if mode.startswith("gzip") or mode == "x-gzip":
        data = gzip.compress(data, draw(st.integers(1, 9)))
        if mode != "gzip-magic":
            headers["content-encoding"] = draw(st.sampled_from([mode, mode.upper(), f" {mode} "]))
        return base64.b64encode(data).decode(), True, headers
    if mode == "identity":
        headers["content-encoding"] = "identity"
    try:
        if mode != "base64":
            return data.decode("utf-8"), False, headers
    except UnicodeDecodeError:
        pass
    return base64.b64encode(data).decode(), True, headers


@st.composite
def neighbour_cases(draw: st.DrawFn) -> Case:
    """Valid events beside hostile ones: whenever the answer is 200, every valid one is kept."""
    n_keep, n_bad = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    slots = draw(st.permutations(["keep"] * n_keep + ["bad"] * n_bad))
    ids = draw(st.lists(st.uuids(), min_size=len(slots), max_size=len(slots), unique=True))
    events: list[Any] = []
    keep: dict[int, Any] = {}
    refuse: set[int] = set()
    labels, depth, lenient = [], 3, False
    for i, slot in enumerate(slots):
        base = make_event(draw(st.sampled_from(NAMES)), event_id=str(ids[i]), event_ts=FIXED_TS)
        if slot == "keep":
            events.append(base)
            keep[i] = base
            continue
        earlier = [keep[j]["event_id"] for j in keep]
        if earlier and draw(st.integers(0, 9)) == 0:  # a second event with a kept one's id
            h = Hostile({**base, "event_id": draw(st.sampled_from(earlier)).upper()}, "duplicate-id", False)
        else:
            h = draw(draw(st.sampled_from(HOSTILE))(base))
        events.append(h.value)
        labels.append(h.label)
        depth, lenient = max(depth, h.depth), lenient or h.lenient
        if h.verdict is True:
            keep[i] = h.decoded if h.decoded is not None else h.value
        elif h.verdict is False:
            refuse.add(i)
    text = to_json({"app_id": APP_ID, "sent_at": SENT_AT, "events": events}, ascii_only=draw(st.booleans()))
    data = text.encode("utf-8")
    body, b64, headers = draw(transports(data))
    nesting = 2 + depth
    readable = nesting <= ORJSON_MAX_DEPTH and (not lenient or nesting <= FALLBACK_SAFE_DEPTH)
    return Case("neighbours:" + "+".join(sorted(set(labels))), api_event(body, b64=b64, headers=headers),
                sent=len(events), keep=keep, refuse=frozenset(refuse),
                must_200=readable and len(data) <= MAX_BODY_BYTES)


def _envelope_text(n: int = 2, **over: Any) -> tuple[str, list[dict]]:
    events = [make_event(event_ts=FIXED_TS) for _ in range(n)]
    return to_json({"app_id": APP_ID, "sent_at": SENT_AT, "events": events, **over}), events


@dataclass
class _Body:
    """What one body case sends and what the ingest must do with it (see :class:`Case`).

    Starts as the valid envelope ``text`` of ``events``; each ``_body_<kind>`` function below
    changes what its kind changes."""

    text: str
    events: list[dict]
    body: Any = None
    b64: bool = False
    headers: dict = field(default_factory=dict)
    must_200: bool = False
    sent: int | None = None
    keep: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.body = self.text
        self.sent, self.keep = len(self.events), dict(enumerate(self.events))

    def encoded(self, raw: bytes, headers: dict | None = None) -> None:
        """Send ``raw`` base64-encoded, as API Gateway passes a binary body."""
        self.body, self.b64 = base64.b64encode(raw).decode(), True
        if headers is not None:
            self.headers = headers

    def unreadable(self) -> None:
        """No event of this body can be counted or kept."""
        self.sent, self.keep = None, {}


def _body_bytes(draw: st.DrawFn, b: _Body) -> None:
    b.encoded(draw(st.binary(max_size=300)))
    b.unreadable()


def _body_json(draw: st.DrawFn, b: _Body) -> None:
    b.body = to_json(draw(json_values))
    b.unreadable()


def _body_utf(kind: str) -> Callable[[st.DrawFn, _Body], None]:
    def make(draw: st.DrawFn, b: _Body) -> None:
        codec = draw(st.sampled_from([kind, f"{kind}-le", f"{kind}-be"]))
        b.encoded(b.text.encode(codec))

    return make


def _body_latin1(draw: st.DrawFn, b: _Body) -> None:
    title = draw(st.sampled_from(["plain", "caf\u00e9", "\u00ff\u00fe"]))
    text, events = _envelope_text(1)
    text = text.replace('"Laptops"', json.dumps(title, ensure_ascii=False))
    b.sent, b.keep = 1, {0: {**events[0], "page": {**events[0]["page"], "title": title}}}
    b.encoded(text.encode("latin-1"))
    b.must_200 = title.isascii()  # ASCII is the same bytes in Latin-1 and UTF-8
    if not b.must_200:
        b.keep = {}


def _body_bom(draw: st.DrawFn, b: _Body) -> None:
    b.body = draw(st.sampled_from(["\ufeff", "\ufeff\ufeff"])) + b.text


def _body_control_char(draw: st.DrawFn, b: _Body) -> None:
    b.body = b.text.replace('"Laptops"', '"Lap' + draw(st.sampled_from(["\x01", "\n", "\t", "\x1f"])) + 'tops"')


def _body_raw_nul(_draw: st.DrawFn, b: _Body) -> None:
    b.body = b.text.replace('"Laptops"', '"Lap\x00tops"')


def _body_raw_surrogate(_draw: st.DrawFn, b: _Body) -> None:
    """UTF-8 bytes of U+D800: not UTF-8 at all."""
    b.encoded(b.text.replace('"Laptops"', '"Lap@tops"').encode().replace(b"@", b"\xed\xa0\x80"))


def _body_nan(draw: st.DrawFn, b: _Body) -> None:
    b.body = b.text.replace('"Laptops"', draw(st.sampled_from(["NaN", "Infinity", "-Infinity"])))


def _body_trailing(draw: st.DrawFn, b: _Body) -> None:
    b.body = b.text + draw(st.sampled_from([" x", "}", "{}", ",", "\x00"]))


def _body_truncated(draw: st.DrawFn, b: _Body) -> None:
    b.body = b.text[: draw(st.integers(0, len(b.text) - 1))]


def _body_bad_base64(draw: st.DrawFn, b: _Body) -> None:
    raw = base64.b64encode(b.text.encode()).decode()
    b.body = draw(st.sampled_from([raw[:-1], raw + "!", "\n".join([raw[:10], raw[10:]]),
                                   base64.urlsafe_b64encode(b"\xfb\xff" + b.text.encode()).decode()]))
    b.b64 = True


def _body_base64_not_flagged(_draw: st.DrawFn, b: _Body) -> None:
    b.body = base64.b64encode(b.text.encode()).decode()


def _body_gzip_broken(draw: st.DrawFn, b: _Body) -> None:
    gz = gzip.compress(b.text.encode())
    raw = draw(st.sampled_from([gz[:-8], gz[: len(gz) // 2], gz + b"junk", zlib.compress(b.text.encode())]))
    b.encoded(raw, {"content-encoding": "gzip"})


def _body_gzip_multi(_draw: st.DrawFn, b: _Body) -> None:
    b.encoded(gzip.compress(b.text.encode()) + gzip.compress(b" "), {"content-encoding": "gzip"})


def _body_gzip_bomb(draw: st.DrawFn, b: _Body) -> None:
    pad = b" " * draw(st.integers(MAX_BODY_BYTES, 3 * MAX_BODY_BYTES))
    b.encoded(gzip.compress(b.text.encode()[:-2] + pad + b"]}", 9), {"content-encoding": "gzip"})


def _body_encoding_unknown(draw: st.DrawFn, b: _Body) -> None:
    b.headers = {"content-encoding": draw(st.sampled_from(["br", "deflate", "zstd", "gzip, br", "\ud800", "\x00"]))}


def _body_too_large(draw: st.DrawFn, b: _Body) -> None:
    pad = " " * (MAX_BODY_BYTES - len(b.text) + draw(st.integers(1, 5000)))
    b.body = b.text[:-1] + pad + "}"
    if draw(st.booleans()):
        b.encoded(b.body.encode())


def _body_too_many(draw: st.DrawFn, b: _Body) -> None:
    many = [make_event(event_ts=FIXED_TS) for _ in range(draw(st.integers(501, 520)))]
    b.body = to_json({"app_id": APP_ID, "sent_at": SENT_AT, "events": many})
    b.sent, b.keep = len(many), {}


def _body_envelope(draw: st.DrawFn, b: _Body) -> None:
    over = draw(st.sampled_from([
        {"app_id": "evil-app"}, {"app_id": APP_ID + "\x00"}, {"app_id": "shop\ud800web"},
        {"app_id": ""}, {"app_id": 7}, {"sent_at": "yesterday"}, {"sent_at": SENT_AT + "\x00"},
        {"events": []}, {"events": {}}, {"events": "x"}, {"extra": 1}, {"events": None},
        {"sent_at": "2026-02-30T00:00:00Z"},
    ]))
    b.body, _ = _envelope_text(2, **over)
    b.unreadable()


def _body_duplicate_events_key(draw: st.DrawFn, b: _Body) -> None:
    first = [make_event(event_ts=FIXED_TS)]
    last = [make_event(event_ts=FIXED_TS) for _ in range(draw(st.integers(1, 3)))]
    b.body = to_json(Pairs((("app_id", APP_ID), ("events", first), ("sent_at", SENT_AT), ("events", last))))
    b.sent, b.keep, b.must_200 = len(last), dict(enumerate(last)), True


def _body_gzip_ok(draw: st.DrawFn, b: _Body) -> None:
    """A correct gzip body, flagged or by magic bytes."""
    b.body, b.b64, b.headers = draw(transports(b.text.encode()))
    b.must_200 = True


_BODY_KINDS: dict[str, Callable[[st.DrawFn, _Body], None]] = {
    "bytes": _body_bytes, "json": _body_json, "utf-16": _body_utf("utf-16"), "utf-32": _body_utf("utf-32"),
    "latin-1": _body_latin1, "bom": _body_bom, "control-char": _body_control_char, "raw-nul": _body_raw_nul,
    "raw-surrogate": _body_raw_surrogate, "nan": _body_nan, "trailing": _body_trailing,
    "truncated": _body_truncated, "bad-base64": _body_bad_base64, "base64-not-flagged": _body_base64_not_flagged,
    "gzip-broken": _body_gzip_broken, "gzip-multi": _body_gzip_multi, "gzip-bomb": _body_gzip_bomb,
    "encoding-unknown": _body_encoding_unknown, "too-large": _body_too_large, "too-many": _body_too_many,
    "envelope": _body_envelope, "duplicate-events-key": _body_duplicate_events_key, "gzip-ok": _body_gzip_ok,
}


@st.composite
def body_cases(draw: st.DrawFn) -> Case:
    """Whole bodies: encodings, transports, bad JSON, envelopes, limits."""
    kind = draw(st.sampled_from(list(_BODY_KINDS)))
    b = _Body(*_envelope_text(draw(st.integers(1, 3))))
    _BODY_KINDS[kind](draw, b)
    return Case(f"body:{kind}", api_event(b.body, b64=b.b64, headers=b.headers), sent=b.sent if b.sent else None,
                keep=b.keep if b.sent else {}, must_200=b.must_200)


odd_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "\x00", "a\x00b", "\ud800", "x\udfff", "\U0001f600", "\\u0000", " ", "\r\n", "\ufeff"]),
    st.integers(1, 200_000).map(lambda n: "U" * n),
)
odd_value: st.SearchStrategy[Any] = st.one_of(odd_text, st.none(), st.integers(), st.lists(st.integers(), max_size=2),
                                              st.just([[[[[]]]]]), st.booleans())


@st.composite
def request_cases(draw: st.DrawFn) -> Case:
    """A valid body with odd headers, methods, paths, request ids, source IPs, user agents."""
    text, events = _envelope_text(draw(st.integers(1, 3)))
    names = st.sampled_from(["user-agent", "User-Agent", "origin", "x-request-id", "x-forwarded-for",
                             "content-type", "X-Amzn-Trace-Id", "cookie", "\ud800", "\x00"]) | st.text(max_size=12)
    headers = draw(st.dictionaries(names, odd_value, max_size=5))
    headers = {k: v for k, v in headers.items() if str(k).lower() != "content-encoding"}
    method = draw(st.sampled_from(["POST", "post", "Post", "GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS",
                                   "options", "", "P\x00ST", "PO\ud800ST", "TRACE"]) | odd_value)
    route = draw(st.sampled_from(["default", "stage", "other"]))
    if route == "default":
        path, stage = "/v1/events", draw(st.sampled_from(["$default", "", None]))
    elif route == "stage":
        stage = draw(st.sampled_from(["prod", "dev"]))
        path = f"/{stage}/v1/events"
    else:
        path = draw(st.sampled_from(["/", "/v1/events/", "/v1/event", "/V1/EVENTS", "/v1/events\x00",
                                     "/v1/events\ud800", "//v1/events"]) | odd_value)
        stage = draw(st.sampled_from(["$default", "prod"]) | odd_value)
    b64 = draw(st.booleans())
    body = base64.b64encode(text.encode()).decode() if b64 else text
    event = api_event(body, b64=b64, headers=headers, method=method, path=path, stage=stage,
                      request_id=draw(odd_value), source_ip=draw(st.ip_addresses().map(str) | odd_value),
                      user_agent=draw(odd_value))
    is_post = isinstance(method, str) and method.upper() == "POST"
    return Case("request", event, sent=len(events), keep=dict(enumerate(events)),
                must_200=is_post and route != "other",
                preflight=isinstance(method, str) and method.upper() == "OPTIONS")


gateway_keys = st.sampled_from(["body", "headers", "requestContext", "rawPath", "isBase64Encoded", "version"])


@st.composite
def gateway_cases(draw: st.DrawFn) -> Case:
    """Events that are not, or not quite, HTTP API payload 2.0."""
    kind = draw(st.sampled_from(["any", "partial", "wrong-types"]))
    if kind == "any":
        event: Any = draw(json_values)
    elif kind == "partial":
        event = draw(st.dictionaries(gateway_keys, json_values, max_size=6))
    else:  # a valid request with one part of the event replaced: a 200 stays possible
        text, events = _envelope_text(1)
        event = api_event(text)
        part = draw(st.sampled_from(["headers", "requestContext", "http", "body", "isBase64Encoded", "rawPath"]))
        bad = draw(json_values | odd_value)
        if part == "http":
            event["requestContext"]["http"] = bad
        else:
            event[part] = bad
        return Case(f"gateway:{kind}", event, sent=1, keep={0: events[0]})
    return Case(f"gateway:{kind}", event)
