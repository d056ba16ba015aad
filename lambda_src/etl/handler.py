"""Lambda entry point: configuration from the environment, the deadline from the context."""

from __future__ import annotations

import logging

from etl import metrics
from etl.config import Settings
from etl.runner import Deadline, run

logging.getLogger().setLevel(logging.INFO)


def handler(event: dict, context: object) -> dict:
    """Scheduled run (EventBridge); the event body is not used. Its figures go out as metrics."""
    settings = Settings.from_env()
    summary = run(settings, deadline=Deadline.from_context(context, settings.safety_ms))
    metrics.emit(summary)
    logging.getLogger("etl").info("etl run summary: %s", summary)
    return summary
