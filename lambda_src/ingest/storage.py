"""Payloads for the raw bucket, their keys, and the S3 write itself.

The key layout and the delivery metadata are the lake's contract (:mod:`common.lake`, shared
with the ETL that reads them); this module names one request's objects in it. One object per
request and kind keeps a request atomic: the ETL loads a whole object or nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from common import lake
from isal import isal_zlib

#: ISA-L (isal) level 1: about 4x faster than zlib level 1 and 8x faster than zlib level 5 on
#: event JSON, with output within 2% of zlib level 3 in size (~15% above level 5, i.e. cents
#: per billion events in S3); any gzip reader (the ETL's zlib) reads it. Measured by
#: ``python -m clickstream.bench ingest``; the choice is recorded in the commit history.
GZIP_LEVEL = 1
_GZIP_WBITS = 31  # 16 + 15: a gzip wrapper (mtime 0, so equal input gives equal bytes)


class StorageError(Exception):
    """The raw bucket could not take the write (the only cause of a 5xx)."""


def object_key(prefix: str, received: datetime, *, rejected: bool = False, uid: str | None = None) -> str:
    """The key for one request's accepted (or rejected) events: a fresh uuid4 unless ``uid``."""
    return lake.object_key(prefix, lake.REJECTED if rejected else lake.EVENTS, received, uid or str(uuid.uuid4()))


def gzip_bytes(data: bytes) -> bytes:
    """One gzip member for a whole object, in one native call."""
    return isal_zlib.compress(data, GZIP_LEVEL, wbits=_GZIP_WBITS)


def jsonl_gz(lines: Iterable[dict[str, Any]]) -> bytes:
    """Gzip-compressed JSON lines (deterministic: equal input gives equal bytes)."""
    return gzip_bytes(b"".join([orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE) for line in lines]))


def enriched_jsonl(events: list[dict[str, Any]], extra: dict[str, Any]) -> bytes:
    """One JSON line per event: the event's keys, then the enrichment keys (the lake contract).

    Byte for byte what ``orjson.dumps({**event, **extra})`` gives per line (orjson keeps
    insertion order, and an accepted event cannot hold an enrichment key: events are closed
    objects), but the enrichment is serialised once per request and spliced in place of each
    event's closing brace, instead of a dict merge and its serialisation per event.
    """
    dumps = orjson.dumps
    tail = b"," + dumps(extra)[1:] + b"\n"
    whole = dumps(extra) + b"\n"
    return b"".join([dumps(ev)[:-1] + tail if ev else whole for ev in events])


def enriched_jsonl_each(events: list[dict[str, Any]], extra: dict[str, Any]) -> tuple[bytes, list[tuple[int, str]]]:
    """:func:`enriched_jsonl` of the events orjson can write, and ``(position, reason)`` of the rest.

    The slow path, taken only when :func:`enriched_jsonl` raised: an event that cannot be
    written (orjson stops at 254 levels of nesting, among others) rejects itself, not the
    batch. The lines written are byte for byte those :func:`enriched_jsonl` would give.
    """
    dumps = orjson.dumps
    tail = b"," + dumps(extra)[1:] + b"\n"
    whole = dumps(extra) + b"\n"
    lines: list[bytes] = []
    failures: list[tuple[int, str]] = []
    for j, ev in enumerate(events):
        try:
            lines.append(dumps(ev)[:-1] + tail if ev else whole)
        except orjson.JSONEncodeError as exc:
            failures.append((j, f"cannot be written as JSON: {str(exc)[:200]}"))
    return b"".join(lines), failures


def delivery_metadata(key: str, count: int) -> dict[str, str]:
    """S3 user metadata of one object (:func:`common.lake.delivery_metadata`), its kind read from the key."""
    return lake.delivery_metadata(lake.kind_of(key), count)


class S3Writer:
    """Puts gzip JSON-lines objects into the raw bucket."""

    def __init__(self, client: Any, bucket: str, kms_key_arn: str | None = None) -> None:
        self._client = client
        self._bucket = bucket
        self._sse: dict[str, str] = (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_arn} if kms_key_arn else {}
        )

    def put(self, key: str, body: bytes, *, count: int) -> None:
        """Write one object; any failure becomes :class:`StorageError`."""
        try:
            self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=body,
                # A .jsonl.gz file, not a gzip-encoded ndjson representation: no
                # Content-Encoding, so no HTTP client ever decompresses it behind the reader's back.
                ContentType="application/gzip",
                Metadata=delivery_metadata(key, count),
                **self._sse,
            )
        except Exception as exc:  # botocore raises many types; all mean "not stored"
            raise StorageError(f"{type(exc).__name__}: {exc}"[:500]) from exc
