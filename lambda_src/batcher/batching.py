"""A batch of buffer messages -> one object per lake partition and kind, and what failed.

Grouping: by kind and received hour (the ``dt=``/``hr=`` partition :func:`common.lake.object_key`
names from ``received_ms``). Inside a group the messages are ordered by message id, so the
object's bytes depend only on which messages it holds.

Keys: ``{prefix}[rejected/]dt=.../hr=.../<epoch_ms>-<uuid>.jsonl.gz`` exactly as ingest's,
``epoch_ms`` the group's earliest received instant and the uuid a name-based uuid5 of the
group's sorted message ids. So a batch SQS hands over again with the same messages (the
function timed out after its PUTs, or its answer was lost) overwrites its objects with equal
bytes instead of adding copies; the ETL has each key in its manifest at most once.
Redelivered messages that arrive in a *different* batch land in a different object: their
events are de-duplicated by ``event_id`` in the warehouse (counted as duplicates in that
object's accounting), their reject records are stored once per object (dw.rejected_events
is keyed by object and line), as with a client's retry of a request today.

Metadata: :func:`common.lake.delivery_metadata` with the group's line count (the ETL checks
received = loaded + duplicates + rejected against it) and ``messages``.

Failures: a message that is not a delivery (:mod:`batcher.records`) and every message of a
group whose PUT failed are returned as batch item failures; the rest of the batch is done and
deleted by the event source mapping (``ReportBatchItemFailures``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from common import lake
from common.jsonlog import get_logger
from isal import isal_zlib

from batcher import records
from batcher.records import BadMessage, Delivery
from batcher.settings import Settings

#: Namespace of the object uuids (uuid5 of the sorted message ids); fixed forever, since
#: changing it would rename every retried batch's objects.
KEY_NAMESPACE = uuid.UUID("5f0c3a52-8a4e-4c1e-9d0f-6a1f0b9c2d71")
#: As ingest's objects (:mod:`ingest.storage`): ISA-L level 1, one gzip member, mtime 0.
GZIP_LEVEL = 1
_GZIP_WBITS = 31
log = get_logger("batcher")


@dataclass
class Outcome:
    """What one batch did: objects written, and the message ids SQS must deliver again."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    failed_ids: list[str] = field(default_factory=list)
    bad_messages: int = 0
    failed_puts: int = 0
    duplicate_records: int = 0
    events: int = 0
    rejects: int = 0

    def response(self) -> dict[str, list[dict[str, str]]]:
        """The answer the event source mapping reads (``ReportBatchItemFailures``)."""
        return {"batchItemFailures": [{"itemIdentifier": mid} for mid in self.failed_ids]}


def object_uid(message_ids: Iterable[str]) -> str:
    """The uuid of the object holding exactly these messages (order does not matter)."""
    return str(uuid.uuid5(KEY_NAMESPACE, "\n".join(sorted(message_ids))))


def group(deliveries: Iterable[Delivery]) -> dict[tuple[str, int], list[Delivery]]:
    """Deliveries by (kind, received hour), each group ordered by message id."""
    groups: dict[tuple[str, int], list[Delivery]] = defaultdict(list)
    for d in deliveries:
        groups[d.partition].append(d)
    for members in groups.values():
        members.sort(key=lambda d: d.message_id)
    return dict(groups)


def build_object(prefix: str, members: list[Delivery]) -> tuple[str, bytes, dict[str, str]]:
    """(key, gzip bytes, S3 metadata) of one group's object."""
    kind = members[0].kind
    key = lake.object_key(prefix, kind, min(d.received_ms for d in members),
                          object_uid(d.message_id for d in members))
    body = isal_zlib.compress(b"".join([d.lines for d in members]), GZIP_LEVEL, wbits=_GZIP_WBITS)
    meta = lake.delivery_metadata(kind, sum(d.count for d in members))
    meta["messages"] = str(len(members))
    return key, body, meta


class Batcher:
    """Writes batches into the raw bucket; reuse it across invocations (one S3 client)."""

    def __init__(self, settings: Settings, s3_client: Any) -> None:
        self.settings = settings
        self.s3 = s3_client
        self._sse: dict[str, str] = (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": settings.kms_key_arn}
            if settings.kms_key_arn else {})

    def _put(self, key: str, body: bytes, meta: dict[str, str]) -> None:
        self.s3.put_object(Bucket=self.settings.raw_bucket, Key=key, Body=body,
                           ContentType="application/gzip", Metadata=meta, **self._sse)

    def handle(self, event: Any) -> Outcome:
        """One SQS event (``{"Records": [...]}``) -> objects written and failures."""
        recs = event.get("Records") if isinstance(event, dict) else None
        if not isinstance(recs, list):
            raise ValueError("not an SQS event: no Records list")
        out = Outcome()
        deliveries: dict[str, Delivery] = {}
        for rec in recs:
            mid = records.message_id(rec)
            if mid is None:
                # Without an id the message cannot be named as failed; failing the whole
                # batch (raising) is the only way not to lose it. SQS never sends one.
                raise ValueError("an SQS record has no messageId")
            if mid in deliveries:
                out.duplicate_records += 1  # SQS delivered one message twice in this batch
                continue
            try:
                deliveries[mid] = records.parse(rec)
            except BadMessage as exc:
                out.bad_messages += 1
                out.failed_ids.append(mid)
                log.error("bad buffer message: left for redelivery and the dead-letter queue",
                          extra={"fields": {"message_id": mid[:128], "reason": str(exc)}})
        for (kind, _hour), members in sorted(group(deliveries.values()).items()):
            key, body, meta = build_object(self.settings.raw_prefix, members)
            try:
                self._put(key, body, meta)
            except Exception as exc:  # botocore raises many types; all mean "not stored"
                out.failed_puts += 1
                out.failed_ids.extend(d.message_id for d in members)
                log.error("raw bucket write failed: the group's messages are left for redelivery",
                          extra={"fields": {"key": key, "messages": len(members),
                                            "error": f"{type(exc).__name__}: {exc}"[:500]}})
                continue
            lines = sum(d.count for d in members)
            if kind == lake.REJECTED:
                out.rejects += lines
            else:
                out.events += lines
            out.objects.append({"key": key, "lines": lines, "messages": len(members), "bytes": len(body)})
        return out
