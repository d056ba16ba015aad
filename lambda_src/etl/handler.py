"""Lambda entry point: configuration from the environment, the deadline from the context."""

from __future__ import annotations

from common.jsonlog import get_logger

from etl import metrics
from etl.config import Settings
from etl.runner import Deadline, run

log = get_logger("etl")


def handler(_event: dict, context: object) -> dict:
    """Scheduled run (EventBridge); the event body is not used. Its figures go out as metrics."""
    settings = Settings.from_env()
    summary = run(settings, deadline=Deadline.from_context(context, settings.safety_ms))
    metrics.emit(summary)
    log.info("etl run summary", extra={"fields": summary})
    return summary
