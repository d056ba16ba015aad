"""Lambda entry point (``ingest.handler.handler``): configuration and clients, nothing else.

The app (compiled validators, S3 client) is built on the first invocation and reused while
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
        _APP = IngestApp(Settings.from_env(os.environ), client("s3"))
    return _APP.handle(event, context)
