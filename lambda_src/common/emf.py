"""CloudWatch metrics as Embedded Metric Format (EMF): one JSON line on stdout per flush.

The one metrics style of the Lambdas. Why EMF and not ``PutMetricData``: the functions run
in private subnets with no NAT and no CloudWatch (monitoring) interface endpoint, and their
roles have no ``cloudwatch:`` action; their stdout reaches CloudWatch Logs through Lambda
itself, and CloudWatch extracts metrics from any line carrying an ``_aws`` block that names
every metric and dimension the line's top level then carries. A line off by one key is
silently just a log line, so the document is built here, once.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

import orjson


def document(namespace: str, dimensions: Mapping[str, str], values: Mapping[str, float], *,
             unit: str = "Count", timestamp_ms: int | None = None) -> dict[str, Any]:
    """One EMF document: every value a metric of ``namespace`` with all ``dimensions``."""
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [list(dimensions)],
                "Metrics": [{"Name": name, "Unit": unit} for name in values],
            }],
        },
        **dimensions,
        **{name: float(v) for name, v in values.items()},
    }


def write(doc: Mapping[str, Any], stream: TextIO | None = None) -> None:
    """Write one document as one line to ``stream`` (stdout: where Lambda's log capture reads)."""
    out = stream or sys.stdout
    out.write(orjson.dumps(doc).decode() + "\n")
    out.flush()
