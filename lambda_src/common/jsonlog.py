"""One-line JSON logs for CloudWatch Logs Insights.

A tiny formatter instead of a logging framework: the Lambdas need structured lines with a few
fixed keys (level, message, logger, timestamp) plus whatever ``extra={"fields": {...}}``
carries, and nothing else, so a zip does not have to ship aws-lambda-powertools for it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

_CONFIGURED: set[str] = set()


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object per line (never raises on odd values)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at emit time (test capture swaps it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stdout

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def get_logger(name: str) -> logging.Logger:
    """A logger writing JSON lines to stdout at ``LOG_LEVEL`` (default INFO).

    The Lambda runtime installs its own plain-text handler on the root logger; ours is
    attached to the named logger with ``propagate = False`` so every line is JSON exactly once.
    """
    logger = logging.getLogger(name)
    if name not in _CONFIGURED:
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
        _CONFIGURED.add(name)
    return logger
