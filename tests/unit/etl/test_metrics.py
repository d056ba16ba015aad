"""The run's EMF line: the shape CloudWatch extracts metrics from, and what the alarms read.

CloudWatch only turns a log line into metrics when ``_aws.CloudWatchMetrics`` names every
metric and dimension that the line's top level then carries; a line that is off by a key is
silently just a log line, and the alarms in modules/etl would never fire.
"""

from __future__ import annotations

import io

import orjson
import pytest
from etl import handler, metrics

pytestmark = pytest.mark.unit

SUMMARY = {"files_loaded": 3, "events_loaded": 70, "duplicates": 2, "rejected": 5, "received": 77,
           "files_failed_permanent": 1, "files_retrying": 2, "unreadable_objects": 3,
           "accounting_mismatches": 1, "lock_taken_over": "run of backend 4242 (its lease ran out)",
           "skipped": None}


def test_the_document_names_every_metric_it_carries():
    doc = metrics.document(SUMMARY, function_name="clickstream-dev-etl", timestamp_ms=1_700_000_000_000)
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Clickstream/ETL" and directive["Dimensions"] == [["FunctionName"]]
    names = [m["Name"] for m in directive["Metrics"]]
    assert all(doc[n] == doc[n] and isinstance(doc[n], float) for n in names)  # every name has a value
    assert doc["FunctionName"] == "clickstream-dev-etl" and doc["_aws"]["Timestamp"] == 1_700_000_000_000
    assert (doc["UnreadableObjects"], doc["AccountingMismatches"], doc["LockTakeovers"]) == (3.0, 1.0, 1.0)
    assert (doc["EventsReceived"], doc["EventsLoaded"], doc["Duplicates"], doc["EventsRejected"]) == (77, 70, 2, 5)
    assert doc["EventsReceived"] == doc["EventsLoaded"] + doc["Duplicates"] + doc["EventsRejected"]
    assert (doc["ObjectsFailedPermanently"], doc["ObjectsRetrying"]) == (1.0, 2.0)


def test_a_skipped_run_emits_nothing_and_an_unknown_figure_is_left_out():
    assert metrics.document({**SUMMARY, "skipped": "another ETL run holds the lock"}, function_name="f") is None
    doc = metrics.document({**SUMMARY, "unreadable_objects": None}, function_name="f")
    assert "UnreadableObjects" not in doc
    assert "UnreadableObjects" not in [m["Name"] for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]]


def test_emit_writes_one_json_line_with_the_functions_name_and_namespace():
    out = io.StringIO()
    metrics.emit(SUMMARY, {"AWS_LAMBDA_FUNCTION_NAME": "clickstream-prod-etl",
                           "ETL_METRICS_NAMESPACE": "Custom/NS"}, out)
    (line,) = out.getvalue().splitlines()
    doc = orjson.loads(line)
    assert doc["FunctionName"] == "clickstream-prod-etl"
    assert doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Custom/NS"


def test_the_handler_emits_the_runs_metrics(monkeypatch, capsys):
    monkeypatch.setenv("RAW_BUCKET", "raw")
    monkeypatch.setenv("DW_DSN", "postgresql://x@127.0.0.1:1/dw")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "clickstream-dev-etl")
    monkeypatch.setattr(handler, "run", lambda _settings, **_kw: dict(SUMMARY))
    assert handler.handler({}, None) == SUMMARY
    emf = [orjson.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith('{"_aws"')]
    assert len(emf) == 1 and emf[0]["UnreadableObjects"] == 3.0


def test_the_handler_logs_in_the_ingest_style_one_json_object_per_line(monkeypatch, capsys):
    monkeypatch.setenv("RAW_BUCKET", "raw")
    monkeypatch.setenv("DW_DSN", "postgresql://x@127.0.0.1:1/dw")
    monkeypatch.setattr(handler, "run", lambda _settings, **_kw: dict(SUMMARY))
    handler.handler({}, None)
    lines = [orjson.loads(x) for x in capsys.readouterr().out.splitlines()]  # every line is JSON
    (log,) = [x for x in lines if "_aws" not in x]
    assert (log["logger"], log["level"], log["message"]) == ("etl", "INFO", "etl run summary")
    assert log["unreadable_objects"] == 3 and log["timestamp"].endswith("Z")  # the summary's fields, flat
