"""The ingest buffer's message format, shared by its writer (ingest) and its reader (the batcher).

With ``BUFFER_QUEUE_URL`` set, ingest does not PUT one object per request: it sends the
request's deliveries (accepted lines, and its rejects, each exactly the bytes today's object
would hold) to an SQS queue, and the batcher Lambda writes one object per lake partition and
kind from a whole batch of messages. Why: at the tracker's real flushes (1-25 events) one
object per request holds ~5 events, S3 PUTs are most of the ingest cost and the ETL pays a
GET per tiny object (issue 15; ``python -m clickstream.bench lake``).

One message is one delivery of one kind:

* body: the gzip JSON-lines bytes, base64 (SQS bodies are text);
* attributes: what the object's S3 user metadata says today (:func:`common.lake.delivery_metadata`)
  plus where it belongs: ``kind`` (``events``/``rejected``), ``count`` (lines), ``received_ms``
  (the received instant, which names the partition: :func:`common.lake.object_key`) and
  ``schema``.

:func:`message_size` is the size SQS counts against its limit: the body plus each
attribute's name, data type and value (UTF-8 bytes).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from common import lake

SCHEMA = "events.v1"
KIND, COUNT, RECEIVED_MS, SCHEMA_ATTR = "kind", "count", "received_ms", "schema"
ATTRIBUTES = (KIND, COUNT, RECEIVED_MS, SCHEMA_ATTR)
#: The most SQS takes in one message since August 2025 (1 MiB; 256 KiB before), and what
#: moto 5.2.5 enforces (on the body alone). A queue's own ``MaximumMessageSize`` can be lower:
#: ingest is told its queue's limit (``BUFFER_MAX_MESSAGE_BYTES``).
SQS_MAX_MESSAGE_BYTES = 1_048_576
#: SQS bills each 64 KiB of a request's payload as one request.
SQS_BILLING_CHUNK_BYTES = 65_536


def attributes(kind: str, count: int, received_ms: int) -> dict[str, dict[str, str]]:
    """SQS message attributes of one delivery (the ``MessageAttributes`` of SendMessage)."""
    if kind not in lake.KINDS:
        raise ValueError(f"kind must be one of {lake.KINDS}, got {kind!r}")

    def num(v: int) -> dict[str, str]:
        return {"DataType": "Number", "StringValue": str(v)}

    return {
        KIND: {"DataType": "String", "StringValue": kind},
        COUNT: num(count),
        RECEIVED_MS: num(received_ms),
        SCHEMA_ATTR: {"DataType": "String", "StringValue": SCHEMA},
    }


def encode_body(gz: bytes) -> str:
    """The message body of gzip bytes."""
    return base64.b64encode(gz).decode("ascii")


def message_size(body: str, attrs: Mapping[str, Mapping[str, str]]) -> int:
    """Bytes SQS counts for one message: body plus attribute names, types and values."""
    size = len(body.encode("utf-8"))
    for name, value in attrs.items():
        size += len(name.encode()) + len(value["DataType"].encode())
        size += len(str(value.get("StringValue", "")).encode("utf-8"))
    return size


def billed_requests(payload_bytes: int) -> int:
    """SQS requests one API call of ``payload_bytes`` is billed as (each 64 KiB chunk is one)."""
    return max(1, -(-payload_bytes // SQS_BILLING_CHUNK_BYTES))


def attribute_value(attrs: Mapping[str, Any], name: str) -> str | None:
    """A string attribute's value from a received message, in either casing SQS uses.

    ReceiveMessage answers ``StringValue``; a Lambda SQS event record ``stringValue``.
    """
    raw = attrs.get(name)
    if not isinstance(raw, Mapping):
        return None
    value = raw.get("stringValue", raw.get("StringValue"))
    return value if isinstance(value, str) else None
