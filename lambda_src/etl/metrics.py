"""A run's figures as CloudWatch metrics: one Embedded Metric Format (EMF) line on stdout.

Why EMF and not ``PutMetricData``: the function runs in private subnets with no NAT and no
CloudWatch (monitoring) interface endpoint, and its role has no ``cloudwatch:`` action; its
log lines reach CloudWatch Logs through Lambda itself, and CloudWatch extracts metrics from
any line carrying an ``_aws`` block. No Powertools either: the zip ships psycopg and orjson
only, and the format is a dozen lines of JSON. Namespace and dimension are what the
alarms in ``modules/etl`` watch (``ETL_METRICS_NAMESPACE``, ``FunctionName``).

A skipped run (another one holds the lock) measured nothing and emits nothing; the alarms
treat the missing point as "no news", keeping their state.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

import orjson

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
    values: dict[str, float] = {}
    for name, key in METRICS:
        value = summary.get(key)
        if value is not None:
            values[name] = float(value)
    values["LockTakeovers"] = 1.0 if summary.get("lock_taken_over") else 0.0
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [[DIMENSION]],
                "Metrics": [{"Name": name, "Unit": "Count"} for name in values],
            }],
        },
        DIMENSION: function_name,
        **values,
    }


def emit(summary: Mapping[str, Any], env: Mapping[str, str] | None = None, stream: TextIO | None = None,
         ) -> dict[str, Any] | None:
    """Write the run's EMF line to stdout (where Lambda's log capture picks it up)."""
    env = os.environ if env is None else env
    doc = document(summary, function_name=env.get("AWS_LAMBDA_FUNCTION_NAME") or "local",
                   namespace=env.get("ETL_METRICS_NAMESPACE") or DEFAULT_NAMESPACE)
    if doc is not None:
        out = stream or sys.stdout
        out.write(orjson.dumps(doc).decode() + "\n")
        out.flush()
    return doc
