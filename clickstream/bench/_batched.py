"""Benchmark objects as the lake's design writes them: requests packed by the buffer's batcher.

Shared by ``bench etl`` and ``bench etl_latency`` (a leading underscore: not a benchmark).
"""

from __future__ import annotations

import gzip
from collections import defaultdict

from batcher.batching import build_object, group
from batcher.records import Delivery
from common import lake

from clickstream.traffic import RawObject, write_to_s3

#: The event source mapping's batching window (``modules/ingest/buffer.tf``).
BATCH_WINDOW_S = 300


def as_batcher_objects(objects: list[RawObject], prefix: str) -> tuple[list[RawObject], dict[str, dict[str, str]]]:
    """The requests as the buffer's batcher writes them: one object per batch window and hour.

    Each generated object is one ingest request (a buffer message); messages received in the
    same :data:`BATCH_WINDOW_S` window form a batch, and :func:`batcher.batching.group` and
    :func:`~batcher.batching.build_object` (the deployed code) split it by kind and hour and
    write its objects, keys and metadata.
    """
    batches: dict[int, list[Delivery]] = defaultdict(list)
    for i, o in enumerate(objects):
        received_ms = int(o.key.rsplit("/", 1)[1].split("-", 1)[0])
        kind = lake.REJECTED if f"/{lake.REJECTED}/" in o.key else lake.EVENTS
        batches[received_ms // (BATCH_WINDOW_S * 1000)].append(
            Delivery(message_id=f"{i:012d}", kind=kind, received_ms=received_ms, count=o.lines,
                     lines=gzip.decompress(o.body)))
    out: list[RawObject] = []
    metadata: dict[str, dict[str, str]] = {}
    for batch in batches.values():
        for members in group(batch).values():
            key, body, meta = build_object(prefix, members)
            out.append(RawObject(key, body, sum(d.count for d in members)))
            metadata[key] = meta
    return out, metadata


def upload_objects(objects: list[RawObject], metadata: dict[str, dict[str, str]], bucket: str, s3) -> None:
    """PUT the objects, with the batcher's metadata where it wrote some."""
    if not metadata:
        write_to_s3(objects, bucket, s3)
        return
    for o in objects:
        s3.put_object(Bucket=bucket, Key=o.key, Body=o.body, ContentType="application/x-ndjson",
                      ContentEncoding="gzip", Metadata=metadata[o.key])
