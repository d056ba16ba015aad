"""Where one request's deliveries go: an object each in the raw bucket, or the buffer queue.

A delivery is one kind's gzip JSON lines of one request (its accepted events, or its reject
records). :class:`DirectSink` PUTs each as its own object (the first design: one object per
request and kind). :class:`QueueSink` sends them to the SQS buffer (:mod:`common.buffer`) in
one API call, for the batcher Lambda to write as large objects; a delivery whose message
would exceed the queue's limit is PUT directly instead, so nothing depends on its size.

Either way a failure is :class:`ingest.storage.StorageError` and the request is answered 503
with nothing claimed accepted: the client retries, and event ids make a retry idempotent
downstream (the ETL de-duplicates by ``event_id``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common import buffer, lake

from ingest.storage import S3Writer, StorageError, object_key


@dataclass(frozen=True)
class Delivery:
    """One kind's gzip JSON lines of one request, and how many lines they hold."""

    kind: str
    body: bytes
    count: int


class DirectSink:
    """One object per delivery in the raw bucket."""

    def __init__(self, writer: S3Writer, prefix: str) -> None:
        self.writer, self.prefix = writer, prefix

    def store(self, deliveries: Sequence[Delivery], received: datetime) -> dict[str, str]:
        """PUT each delivery; ``{kind: key}``."""
        where: dict[str, str] = {}
        for d in deliveries:
            key = object_key(self.prefix, received, rejected=d.kind == lake.REJECTED)
            self.writer.put(key, d.body, count=d.count)
            where[d.kind] = key
        return where


class QueueSink:
    """The request's deliveries as messages of the buffer queue, in one SendMessage(Batch)."""

    def __init__(self, client: Any, queue_url: str, max_message_bytes: int, fallback: DirectSink) -> None:
        self.client, self.queue_url = client, queue_url
        self.max_message_bytes = max_message_bytes
        self.fallback = fallback

    def store(self, deliveries: Sequence[Delivery], received: datetime) -> dict[str, str]:
        """Send (or, over the size limit, PUT) each delivery; ``{kind: "sqs:<id>" or key}``."""
        ms = lake.received_ms(received)
        entries: list[dict[str, Any]] = []
        oversized: list[Delivery] = []
        for d in deliveries:
            body = buffer.encode_body(d.body)
            attrs = buffer.attributes(d.kind, d.count, ms)
            if buffer.message_size(body, attrs) > self.max_message_bytes:
                oversized.append(d)
            else:
                entries.append({"Id": d.kind, "MessageBody": body, "MessageAttributes": attrs})
        where = self.fallback.store(oversized, received) if oversized else {}
        if entries:
            where.update(self._send(entries))
        return where

    def _send(self, entries: list[dict[str, Any]]) -> dict[str, str]:
        total = sum(buffer.message_size(e["MessageBody"], e["MessageAttributes"]) for e in entries)
        try:
            if len(entries) == 1 or total > buffer.SQS_MAX_MESSAGE_BYTES:
                # One message, or two that SendMessageBatch's 1 MiB total would refuse.
                return {e["Id"]: "sqs:" + self.client.send_message(
                    QueueUrl=self.queue_url, MessageBody=e["MessageBody"],
                    MessageAttributes=e["MessageAttributes"])["MessageId"] for e in entries}
            resp = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        except Exception as exc:  # botocore raises many types; all mean "not stored"
            raise StorageError(f"{type(exc).__name__}: {exc}"[:500]) from exc
        failed = resp.get("Failed") or []
        if failed:
            raise StorageError(f"SendMessageBatch refused {failed}"[:500])
        return {ok["Id"]: "sqs:" + ok["MessageId"] for ok in resp.get("Successful", [])}
