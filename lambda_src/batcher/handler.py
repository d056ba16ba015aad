"""Lambda entry point (``batcher.handler.handler``): configuration and the S3 client, nothing else.

Invoked by an SQS event source mapping with ``ReportBatchItemFailures``; the answer names
the messages SQS must deliver again (:meth:`batcher.batching.Outcome.response`).
"""

from __future__ import annotations

import os
from typing import Any

from common.aws import client
from common.jsonlog import get_logger

from batcher import metrics
from batcher.batching import Batcher
from batcher.settings import Settings

_BATCHER: Batcher | None = None
log = get_logger("batcher")


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """SQS event -> ``{"batchItemFailures": [...]}``."""
    global _BATCHER
    if _BATCHER is None:
        _BATCHER = Batcher(Settings.from_env(os.environ), client("s3"))
    out = _BATCHER.handle(event)
    metrics.emit(out)
    log.info("batch", extra={"fields": {
        "objects": len(out.objects), "events": out.events, "rejects": out.rejects,
        "bad_messages": out.bad_messages, "failed_puts": out.failed_puts,
        "messages_failed": len(out.failed_ids), "duplicate_records": out.duplicate_records}})
    return out.response()
