"""A run's figures as CloudWatch metrics, written as one EMF line (:mod:`common.emf`).

Namespace and dimension are what the alarms in ``modules/etl`` watch
(``ETL_METRICS_NAMESPACE``, ``FunctionName``). A skipped run (another one holds the lock)
measured nothing and emits nothing; the alarms treat the missing point as "no news",
keeping their state.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TextIO

from common import emf

DEFAULT_NAMESPACE = "Clickstream/ETL"
DIMENSION = "FunctionName"

#: (metric name, summary key): the first two are what the alarms watch.
METRICS = (
    ("UnreadableObjects", "unreadable_objects"),      # objects still owed (gauge): alarm > 0
    ("AccountingMismatches", "accounting_mismatches"),  # received != loaded + dups + rejected: alarm > 0
    ("ObjectsFailedPermanently", "files_failed_permanent"),
    ("ObjectsRetrying", "files_retrying"),
    ("FilesLoaded", "files_loaded"),
    ("EventsReceived", "received"),
    ("EventsLoaded", "events_loaded"),
    ("Duplicates", "duplicates"),
    ("EventsRejected", "rejected"),
)


def document(summary: Mapping[str, Any], *, function_name: str, namespace: str = DEFAULT_NAMESPACE,
             timestamp_ms: int | None = None) -> dict[str, Any] | None:
    """The EMF document for one run's summary, or None for a skipped run."""
    if summary.get("skipped"):
        return None
    values = {name: float(summary[key]) for name, key in METRICS if summary.get(key) is not None}
    values["LockTakeovers"] = 1.0 if summary.get("lock_taken_over") else 0.0
    return emf.document(namespace, {DIMENSION: function_name}, values, timestamp_ms=timestamp_ms)


def emit(summary: Mapping[str, Any], env: Mapping[str, str] | None = None, stream: TextIO | None = None,
         ) -> dict[str, Any] | None:
    """Write the run's EMF line to stdout (where Lambda's log capture picks it up)."""
    env = os.environ if env is None else env
    doc = document(summary, function_name=env.get("AWS_LAMBDA_FUNCTION_NAME") or "local",
                   namespace=env.get("ETL_METRICS_NAMESPACE") or DEFAULT_NAMESPACE)
    if doc is not None:
        emf.write(doc, stream)
    return doc
