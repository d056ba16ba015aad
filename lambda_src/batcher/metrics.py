"""A batch's figures as CloudWatch metrics, one EMF line (:mod:`common.emf`).

``BadMessages`` and ``FailedPuts`` are what an alarm should watch (with the dead-letter
queue's depth): either means messages are going back to the queue instead of into the lake.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TextIO

from common import emf

from batcher.batching import Outcome

DEFAULT_NAMESPACE = "Clickstream/Batcher"
DIMENSION = "FunctionName"


def document(out: Outcome, *, function_name: str, namespace: str = DEFAULT_NAMESPACE,
             timestamp_ms: int | None = None) -> dict[str, Any]:
    values = {"ObjectsWritten": len(out.objects), "EventsBuffered": out.events,
              "RejectsBuffered": out.rejects, "BadMessages": out.bad_messages,
              "FailedPuts": out.failed_puts, "MessagesFailed": len(out.failed_ids)}
    return emf.document(namespace, {DIMENSION: function_name}, values, timestamp_ms=timestamp_ms)


def emit(out: Outcome, env: Mapping[str, str] | None = None, stream: TextIO | None = None) -> dict[str, Any]:
    env = os.environ if env is None else env
    doc = document(out, function_name=env.get("AWS_LAMBDA_FUNCTION_NAME") or "local",
                   namespace=env.get("BATCHER_METRICS_NAMESPACE") or DEFAULT_NAMESPACE)
    emf.write(doc, stream)
    return doc
