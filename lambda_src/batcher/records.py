"""One SQS record of the buffer queue -> a checked delivery, or the reason it is not one.

Every message is checked whole before any of its lines reach an object: its attributes
(:mod:`common.buffer`), base64, exactly one gzip member, at most :data:`MAX_LINES_BYTES`
once decompressed (a bomb cannot take the function's memory), newline-terminated, and as
many lines as its ``count`` says. Why so strict: an object the ETL refuses as a whole (not
gzip, not JSON lines) is recorded as failed with every valid delivery in it, so a garbled
message must never share an object. A message that fails is reported back as a batch item
failure: SQS redelivers it and, after the queue's ``maxReceiveCount``, moves it to the
dead-letter queue, where it is visible (alarmed) and can be inspected or redriven.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from common import buffer, lake
from isal import isal_zlib

#: Most bytes one message may hold decompressed. Ingest's own bound is ``MAX_BODY_BYTES``
#: (1 MiB of request JSON by default, 6 MiB at most) plus the enrichment per line; 16 MiB is
#: far above both.
MAX_LINES_BYTES = 16 * 1024 * 1024
_GZIP_WBITS = 31
_MAX_MS = lake.received_ms(datetime(9999, 12, 31, 23, 59, tzinfo=UTC))


class BadMessage(ValueError):
    """The record is not a delivery ingest could have sent; the message says why."""


@dataclass(frozen=True)
class Delivery:
    """One message's lines and where they belong."""

    message_id: str
    kind: str
    received_ms: int
    count: int
    #: The JSON lines, decompressed, each ending in a newline.
    lines: bytes

    @property
    def partition(self) -> tuple[str, int]:
        """(kind, hour since the epoch): the lake partition the lines belong to."""
        return self.kind, self.received_ms // 3_600_000


def message_id(record: Any) -> str | None:
    """The record's message id, if it has a usable one."""
    if isinstance(record, Mapping):
        mid = record.get("messageId")
        if isinstance(mid, str) and mid:
            return mid
    return None


def _int_attr(attrs: Mapping[str, Any], name: str) -> int:
    raw = buffer.attribute_value(attrs, name)
    if raw is None or not raw.isdigit() or len(raw) > 16:
        raise BadMessage(f"attribute {name} is not a count: {str(raw)[:40]!r}")
    return int(raw)


def _gunzip(data: bytes) -> bytes:
    d = isal_zlib.decompressobj(wbits=_GZIP_WBITS)
    try:
        out = d.decompress(data, MAX_LINES_BYTES + 1)
    except isal_zlib.error as exc:
        raise BadMessage(f"body is not gzip: {exc}") from None
    if len(out) > MAX_LINES_BYTES or d.unconsumed_tail:
        raise BadMessage(f"body holds more than {MAX_LINES_BYTES} bytes decompressed")
    if not d.eof:
        raise BadMessage("body is a truncated gzip stream")
    if d.unused_data:
        raise BadMessage("body has bytes after its gzip member")
    return out


def parse(record: Any) -> Delivery:
    """The delivery one SQS event record carries, else :class:`BadMessage`."""
    mid = message_id(record)
    if mid is None:
        raise BadMessage("record has no messageId")
    attrs = record.get("messageAttributes")
    if not isinstance(attrs, Mapping):
        raise BadMessage("record has no message attributes")
    kind = buffer.attribute_value(attrs, buffer.KIND)
    if kind not in lake.KINDS:
        raise BadMessage(f"attribute kind is not one of {lake.KINDS}: {str(kind)[:40]!r}")
    schema = buffer.attribute_value(attrs, buffer.SCHEMA_ATTR)
    if schema != buffer.SCHEMA:
        raise BadMessage(f"attribute schema is not {buffer.SCHEMA}: {str(schema)[:40]!r}")
    count = _int_attr(attrs, buffer.COUNT)
    ms = _int_attr(attrs, buffer.RECEIVED_MS)
    if count < 1:
        raise BadMessage("attribute count is 0: ingest never sends an empty delivery")
    if ms > _MAX_MS:
        raise BadMessage(f"attribute received_ms is out of range: {ms}")
    body = record.get("body")
    if not isinstance(body, str) or not body:
        raise BadMessage("record has no body")
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise BadMessage("body is not base64") from None
    lines = _gunzip(raw)
    if not lines.endswith(b"\n"):
        raise BadMessage("lines do not end with a newline")
    n = lines.count(b"\n")
    if n != count:
        raise BadMessage(f"body holds {n} lines, attribute count says {count}")
    return Delivery(message_id=mid, kind=kind, received_ms=ms, count=count, lines=lines)
