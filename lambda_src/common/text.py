"""The one rule for the text and numbers an event may carry: what the lake and PostgreSQL hold.

Ingest rejects an event that breaks it at the door (HTTP 200, the event in ``rejected`` with
this module's reason) and the ETL applies the same function to the decoded lines it reads, so
an event ingest accepted always loads: nothing is lost after a 200 (ARCHITECTURE section 4).

What is refused, and why (checked against PostgreSQL 15 and orjson 3.13):

* U+0000 anywhere, in a key or a value. ``text`` cannot contain NUL ("PostgreSQL text fields
  cannot contain NUL (0x00) bytes") and ``jsonb`` refuses the ``\\u0000`` escape
  ("unsupported Unicode escape sequence"). The six characters backslash, ``u``, ``0000``
  (JSON ``"\\\\u0000"``) are ordinary text and pass: both types store them.
* An unpaired surrogate (U+D800..U+DFFF; a Python ``str`` never holds a *paired* one). It has
  no UTF-8 encoding, so it can be neither written to the lake nor stored as text, and jsonb
  refuses its escape.
* A float that is not finite and an integer outside [-2**63, 2**64 - 1]. jsonb is ``numeric``
  and holds any finite JSON number (up to 131072 digits), so the limit is the lake writer's:
  orjson writes infinity as ``null`` (a silent change) and refuses larger integers. orjson's
  own parser never yields either; ingest's fallback parser (for bodies orjson refuses) can.

Not part of the rule: nesting depth (orjson writes at most 254 levels, a limit of the writer
that ingest handles by serialising event by event), lengths and shapes (the JSON Schema's).

The rule is a walk over decoded values. Both Lambdas keep their fast path by calling it only
when it can matter: a NUL can only reach a decoded string through a ``\\u0000`` escape (a raw
NUL byte is invalid JSON), so :data:`NUL_ESCAPE` absent from the bytes rules NUL out; that
byte test is a superset (it also hits the harmless escaped backslash) and the walk decides.
"""

from __future__ import annotations

import math
import re

#: Every JSON text that decodes to a string holding U+0000 contains these six bytes.
NUL_ESCAPE = b"\\u0000"
#: Integers orjson writes as integers (int64 and uint64).
INT_MIN, INT_MAX = -(2**63), 2**64 - 1
#: Replacement for what the rule refuses in text that ingest writes itself (headers).
REPLACEMENT = "\ufffd"

_BAD = re.compile("[\x00\ud800-\udfff]")
_MAX_PATH_PART = 40
_MAX_PATH = 120


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as PostgreSQL text, or None when it can."""
    if text.isascii():
        if "\x00" in text:
            return "contains the NUL character U+0000, which PostgreSQL text cannot hold"
        return None
    m = _BAD.search(text)
    if m is None:
        return None
    if m.group() == "\x00":
        return "contains the NUL character U+0000, which PostgreSQL text cannot hold"
    return f"contains an unpaired surrogate U+{ord(m.group()):04X}, which is not valid UTF-8"


def clean_text(text: str) -> str:
    """``text`` with every character the rule refuses replaced by U+FFFD (same length).

    For text ingest adds itself (user agent, request id, reasons): a header is metadata about
    a request, and a broken one must not cost the client its valid events.
    """
    if text.isascii() and "\x00" not in text:
        return text
    return _BAD.sub(REPLACEMENT, text)


def _number_problem(value: object) -> str | None:
    if value.__class__ is int:
        if not INT_MIN <= value <= INT_MAX:  # type: ignore[operator]
            return "integer outside the 64-bit range the lake can write"
    elif value.__class__ is float and not math.isfinite(value):  # type: ignore[arg-type]
        return "number is not finite"
    return None


#: Where a value sits: ``(parent, key or index)``, None at the root. Linked, not a tuple per
#: value, so a walk stays linear however deep the value is; a path is built only for a reason.
_Where = tuple["_Where | None", object] | None


def _path(where: _Where) -> str:
    """A jsonschema-style instance path (``items/0/item_name``), bounded, safe in a reason."""
    parts: list[str] = []
    size = 0
    while where is not None and size <= _MAX_PATH:
        where, part = where
        parts.append(clean_text(str(part))[:_MAX_PATH_PART])
        size += len(parts[-1]) + 1
    path = "/".join(reversed(parts))
    return path if where is None and len(path) <= _MAX_PATH else "..." + path[-_MAX_PATH:]


def _at(where: _Where, problem: str) -> str:
    return f"{_path(where)}: {problem}" if where is not None else problem


def _members(obj: dict, where: _Where) -> list[tuple[object, _Where]] | str:
    """An object's values with their places, or why one of its keys breaks the rule."""
    children = []
    for k, item in obj.items():
        if k.__class__ is not str:
            return _at(where, "an object key is not a string")
        problem = text_problem(k)
        if problem is not None:
            return _at((where, k), f"key {problem}")
        children.append((item, (where, k)))
    return children


def value_problem(value: object) -> str | None:
    """Why a decoded JSON value breaks the rule (``<path>: <problem>``), or None.

    Iterative (an explicit stack, visited in document order), so a value nested as deep as
    any parser allows is walked without touching the recursion limit.
    """
    stack: list[tuple[object, _Where]] = [(value, None)]
    while stack:
        v, where = stack.pop()
        cls = v.__class__
        if cls is str:
            problem = text_problem(v)  # type: ignore[arg-type]
            if problem is not None:
                return _at(where, problem)
        elif cls is dict:
            children = _members(v, where)  # type: ignore[arg-type]
            if isinstance(children, str):
                return children
            stack.extend(reversed(children))
        elif cls is list:
            stack.extend(reversed([(item, (where, i)) for i, item in enumerate(v)]))  # type: ignore[arg-type]
        elif cls is int or cls is float:
            problem = _number_problem(v)
            if problem is not None:
                return _at(where, problem)
        elif v is not None and cls is not bool:
            return _at(where, f"not a JSON value ({cls.__name__})")
    return None
