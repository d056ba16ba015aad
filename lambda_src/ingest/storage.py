"""Object keys and payloads for the raw bucket, and the S3 write itself.

Layout (Hive-style partitions, so Athena/Spark/the ETL can prune by time)::

    ${RAW_PREFIX}dt=YYYY-MM-DD/hr=HH/<epoch_ms>-<uuid4>.jsonl.gz            accepted events
    ${RAW_PREFIX}rejected/dt=YYYY-MM-DD/hr=HH/<epoch_ms>-<uuid4>.jsonl.gz   rejected events

``dt``/``hr`` come from ``received_at`` in UTC (server time, not the client's clock, so a
skewed browser cannot write into old partitions). The epoch-ms prefix sorts objects by
arrival inside a partition; the uuid4 makes concurrent writers collision-free. One object
per request keeps a request atomic: the ETL loads a whole object or nothing.
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

#: zlib level 5 compresses event JSON within ~5% of level 9 at a fraction of the CPU; the
#: handler's events/s is dominated by validation and serialisation at this level.
GZIP_LEVEL = 5


class StorageError(Exception):
    """The raw bucket could not take the write (the only cause of a 5xx)."""


def object_key(prefix: str, received: datetime, *, rejected: bool = False, uid: str | None = None) -> str:
    """The key for one request's accepted (or rejected) events."""
    received = received.astimezone(UTC)
    epoch_ms = int(received.timestamp() * 1000)
    part = f"dt={received:%Y-%m-%d}/hr={received:%H}/"
    name = f"{epoch_ms}-{uid or uuid.uuid4()}.jsonl.gz"
    return f"{prefix}{'rejected/' if rejected else ''}{part}{name}"


def jsonl_gz(lines: Iterable[dict[str, Any]]) -> bytes:
    """Gzip-compressed JSON lines (mtime 0 so equal input gives equal bytes)."""
    body = b"\n".join(orjson.dumps(line) for line in lines) + b"\n"
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


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
                Metadata={"event-count": str(count), "schema": "events.v1"},
                **self._sse,
            )
        except Exception as exc:  # botocore raises many types; all mean "not stored"
            raise StorageError(f"{type(exc).__name__}: {exc}"[:500]) from exc
