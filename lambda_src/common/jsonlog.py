"""One-line JSON logs for CloudWatch Logs Insights: the one logging style of both Lambdas.

Every line has a few fixed keys (timestamp, level, logger, message) plus whatever
``extra={"fields": {...}}`` carries, flat, so Logs Insights filters on them directly
(``filter logger = "etl" and permanent``). Metrics are a separate line format
(:mod:`common.emf`).

Why not aws-lambda-powertools (its Logger, Metrics and event handler), measured on this code
before deciding (issue 14): behind ``APIGatewayHttpResolver`` + ``Logger`` the ingest fast
path cost 90-130 us more CPU per request (+22-26 % at 1 and 25 events per request, the
tracker's sizes; lost in the noise at 500), the handler's cold import grew by ~140 ms
(0.43 -> 0.57 s), and the ingest zip by ~1 MiB (powertools, jmespath, typing-extensions over
6.3 MiB). What it would replace is this formatter, ``common.emf`` and one route with its
exact status contract (404/405/413/204 and CORS, :mod:`ingest.app`). So the pin was dropped
(the commit that dropped it gives the commands behind these figures).
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


_STREAM = {"name": "stdout"}


def to_stderr() -> None:
    """Send every JSON log line to stderr from now on: for a command whose stdout is its result
    (``python -m etl.replay`` prints the run's summary there)."""
    _STREAM["name"] = "stderr"


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at emit time (test capture swaps it), or stderr."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr if _STREAM["name"] == "stderr" else sys.stdout

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
