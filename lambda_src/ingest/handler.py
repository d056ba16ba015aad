"""Lambda entry point (``ingest.handler.handler``): configuration and clients, nothing else.

The app (compiled validators, S3 client, and the SQS client when ``BUFFER_QUEUE_URL`` names
the buffer queue) is built on the first invocation and reused while
the execution environment stays warm.
"""

from __future__ import annotations

import os
from typing import Any

from common.aws import client

from ingest.app import IngestApp
from ingest.settings import Settings

_APP: IngestApp | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """HTTP API (payload format 2.0) -> response dict."""
    global _APP
    if _APP is None:
        settings = Settings.from_env(os.environ)
        sqs = client("sqs") if settings.buffer_queue_url else None
        _APP = IngestApp(settings, client("s3"), sqs_client=sqs)
    return _APP.handle(event, context)
