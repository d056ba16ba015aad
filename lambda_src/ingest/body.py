"""Turn an HTTP API request body into JSON, enforcing the size limit before any large copy.

The body may arrive as text (``application/json`` or ``text/plain`` from sendBeacon), base64
(``isBase64Encoded``, which API Gateway uses for binary or gzip bodies) and gzip-compressed
(``Content-Encoding: gzip`` or simply the gzip magic bytes). The limit applies to the bytes
received *and* to the decompressed size: decompression stops one byte past the limit, so a
gzip bomb costs at most ``max_bytes`` of memory and is answered 413.

JSON is read by orjson. A few texts are valid JSON that orjson refuses for one *value*, not
for the syntax: a number beyond the double range (``1e400``) or a lone surrogate escape
(``"\\ud800"``). Refusing the body for that would cost the client every valid event beside the
bad one, so such a body is read again by the standard library's parser, configured to the
same grammar (UTF-8 only, no BOM, no ``NaN``/``Infinity``) and to orjson's number semantics
(integers beyond 64 bits become floats), and the caller rejects the offending events by the
shared text rule. That second parser nests only to the interpreter's recursion limit (about
900 levels), so a body both orjson and it refuse is a 400: it cannot be read at all.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

import orjson
from common.text import INT_MAX, INT_MIN, NUL_ESCAPE

GZIP_MAGIC = b"\x1f\x8b"


class BodyError(Exception):
    """The body cannot be accepted; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def raw_bytes(body: str | None, is_base64: bool, max_bytes: int) -> bytes:
    """The body as received on the wire, at most ``max_bytes`` long."""
    if body is None or body == "":
        raise BodyError(400, "empty body")
    if not isinstance(body, str):
        raise BodyError(400, "body is not a string")
    if is_base64:
        # 4 base64 characters per 3 bytes: reject before decoding anything oversized.
        if len(body) > (max_bytes + 2) // 3 * 4 + 4:
            raise BodyError(413, f"body larger than {max_bytes} bytes")
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BodyError(400, "body is not valid base64") from exc
    else:
        # A UTF-8 character is 1-4 bytes: only encode when the length could be within limit.
        if len(body) > max_bytes:
            raise BodyError(413, f"body larger than {max_bytes} bytes")
        try:
            data = body.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates in a str body
            raise BodyError(400, "body is not valid UTF-8") from exc
    if len(data) > max_bytes:
        raise BodyError(413, f"body larger than {max_bytes} bytes")
    return data


def gunzip_bounded(data: bytes, max_bytes: int) -> bytes:
    """Decompress one gzip member without ever producing more than ``max_bytes + 1`` bytes."""
    d = zlib.decompressobj(wbits=31)
    try:
        out = d.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise BodyError(400, "body is not valid gzip") from exc
    if len(out) > max_bytes or (d.unconsumed_tail and not d.eof):
        raise BodyError(413, f"decompressed body larger than {max_bytes} bytes")
    if not d.eof:
        raise BodyError(400, "gzip body is truncated")
    if d.unused_data:
        raise BodyError(400, "unexpected data after the gzip stream")
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _orjson_int(digits: str) -> int | float:
    """An integer literal as orjson reads it: an int within 64 bits, else a float."""
    if len(digits) <= 21:  # int() of a long literal is slow, and refused past 4300 digits
        n = int(digits)
        if INT_MIN <= n <= INT_MAX:
            return n
    return float(digits)  # may be inf: the text rule rejects that event


def parse_json(data: bytes) -> tuple[Any, bool]:
    """``(value, lenient)``: orjson's reading, else the fallback's (``lenient`` True).

    Raises :class:`BodyError` 400 with orjson's message when neither can read ``data``.
    """
    try:
        return orjson.loads(data), False
    except orjson.JSONDecodeError as exc:
        refused = exc
    try:
        # Decoded here, strictly: JSON is UTF-8 (RFC 8259 8.1), and json.loads given bytes
        # would guess UTF-16 or UTF-32 instead of refusing them.
        text = data.decode("utf-8")
        return json.loads(text, parse_constant=_no_constant, parse_int=_orjson_int), True
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError included
        raise BodyError(400, f"body is not valid JSON: {str(refused)[:120]}") from refused


def decode(
    body: str | None, *, is_base64: bool, content_encoding: str | None, max_bytes: int
) -> tuple[Any, bool]:
    """Parse the request body or raise :class:`BodyError`.

    Returns the value and whether its events need the shared text rule checked: when the
    fallback parser read it (it may hold what orjson never yields) or when the JSON text
    contains a ``\\u0000`` escape (the only way a NUL reaches a decoded string). Otherwise the
    caller skips that walk: orjson's values always pass it.
    """
    data = raw_bytes(body, is_base64, max_bytes)
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("gzip", "x-gzip") or data[:2] == GZIP_MAGIC:
        data = gunzip_bounded(data, max_bytes)
    elif encoding not in ("", "identity"):
        raise BodyError(400, f"unsupported Content-Encoding {encoding[:32]!r}")
    value, lenient = parse_json(data)
    return value, lenient or NUL_ESCAPE in data
