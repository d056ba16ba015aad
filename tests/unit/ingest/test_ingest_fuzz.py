"""Fuzzing the ingest handler as a first-class test: hostile requests by input class.

For every case (:mod:`fuzz_inputs`): no exception escapes, the status is one the contract
names (200, 400, 403, 404, 405, 413; 204 only for a CORS preflight) with a reason, and for
every 200:

* accepted + len(rejected) == the number of events sent, every index once, each with a reason;
* the events the case knows are valid are accepted, and stored as they were sent; those it
  knows are invalid are rejected, whatever their neighbours hold;
* every stored event passes the shared text rule (:mod:`common.text`) and loads through the
  ETL's parser as a row, not a reject; every reject record reads back as an ingest reject
  with the reason the client was given, and what it keeps PostgreSQL can hold.

Profiles: ``ci`` (the default, what ``make test`` runs: seeded, a few hundred cases) and
``fuzz`` (``make fuzz``: random, at least 10,000 cases; ``INGEST_FUZZ_EXAMPLES`` per test).
The summary is printed at the end of the session (see this folder's conftest.py).
"""

from __future__ import annotations

import gzip
import logging
import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from common.text import text_problem, value_problem
from etl.config import Settings as EtlSettings
from etl.parsing import parse_object
from fuzz_inputs import ENRICHMENT_KEYS, Case, body_cases, gateway_cases, neighbour_cases, request_cases
from fuzz_stats import PROFILE_ENV, STATS
from hypothesis import HealthCheck, given, settings
from ingest.app import IngestApp
from ingest.settings import Settings
from ingest_helpers import APP_ID, FIXED_NOW, RecordingS3

pytestmark = [pytest.mark.unit, pytest.mark.filterwarnings("ignore:Generating overly large repr")]

_SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
              HealthCheck.filter_too_much]
settings.register_profile("ingest-fuzz-ci", max_examples=125, derandomize=True, deadline=None,
                          suppress_health_check=_SLOW_DATA, print_blob=True)
settings.register_profile("fuzz", max_examples=int(os.environ.get("INGEST_FUZZ_EXAMPLES", "2600")),
                          deadline=None, suppress_health_check=_SLOW_DATA, print_blob=True)
FUZZ = settings(settings.get_profile("fuzz" if os.environ.get(PROFILE_ENV) == "fuzz" else "ingest-fuzz-ci"))

CONTRACT = {200, 400, 403, 404, 405, 413}
SETTINGS = Settings(raw_bucket="raw-fuzz", allowed_app_ids=frozenset({APP_ID}),
                    cors_allow_origins=frozenset({"https://shop.example"}))
_ETL = EtlSettings(raw_bucket="raw-fuzz")
ETL_LIMITS = {"max_decompressed": _ETL.max_decompressed_bytes, "max_line": _ETL.max_line_bytes,
              "max_late": timedelta(days=_ETL.max_late_days),
              "max_future": timedelta(minutes=_ETL.max_future_minutes)}


@pytest.fixture(autouse=True, scope="module")
def _quiet_request_logs() -> Iterator[None]:
    """One INFO line per request is noise over 10,000 requests; errors and traces still show."""
    logger = logging.getLogger("ingest")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


class _Context:
    aws_request_id = "lambda-request-1"


def run_case(case: Case) -> None:
    """Send one case through a fresh app (validators are compiled once per process) and check it."""
    s3 = RecordingS3()
    app = IngestApp(SETTINGS, s3, clock=lambda: FIXED_NOW)
    try:
        resp = app.handle(case.event, _Context())
    except Exception:
        STATS.exceptions += 1
        raise
    STATS.record(case.label, resp["statusCode"])
    check_response(case, resp, s3)


def check_response(case: Case, resp: dict[str, Any], s3: RecordingS3) -> None:
    status = resp["statusCode"]
    assert status in CONTRACT | ({204} if case.preflight else set()), (status, resp["body"][:300])
    if status == 204:
        assert resp["body"] == "" and s3.puts == []
        return
    body = orjson.loads(resp["body"])
    if status != 200:
        assert not case.must_200, f"{case.label}: {status} {body}"
        assert isinstance(body["error"], str) and body["error"] and text_problem(body["error"]) is None
        assert s3.puts == []
        return
    assert case.sent is not None, f"{case.label}: 200 for a request that is no envelope of the allowed app"
    accepted, rejected = body["accepted"], body["rejected"]
    assert accepted + len(rejected) == case.sent
    indices = [r["index"] for r in rejected]
    assert indices == sorted(set(indices)) and all(0 <= i < case.sent for i in indices)
    for r in rejected:
        assert isinstance(r["reason"], str) and r["reason"] and text_problem(r["reason"]) is None
    kept = set(range(case.sent)) - set(indices)
    assert set(case.keep) <= kept, f"valid events rejected: {[r for r in rejected if r['index'] in case.keep]}"
    assert case.refuse <= set(indices), f"invalid events accepted: {sorted(case.refuse - set(indices))}"
    STATS.identity_checked += 1
    STATS.events_sent_in_200s += case.sent
    _check_accepted_object(case, s3, accepted)
    _check_reject_object(s3, rejected)


def _check_accepted_object(case: Case, s3: RecordingS3, accepted: int) -> None:
    objects = s3.objects(rejected=False)
    assert len(objects) == (1 if accepted else 0)
    if not accepted:
        return
    put = objects[0]
    assert put["Metadata"]["event-count"] == str(accepted)
    lines = gzip.decompress(put["Body"]).splitlines()
    assert len(lines) == accepted
    stored = [orjson.loads(line) for line in lines]
    for line in stored:
        assert value_problem(line) is None, line
    by_id = {line["event_id"]: line for line in stored}
    for ev in case.keep.values():
        line = by_id[ev["event_id"]]
        assert {k: v for k, v in line.items() if k not in ENRICHMENT_KEYS} == ev
    po = parse_object(put["Key"], "events", FIXED_NOW.date(), None, len(put["Body"]), [put["Body"]], **ETL_LIMITS)
    assert po.rejects == [], po.rejects[:3]
    assert len(po.event_ids) == accepted and po.duplicates_in_object == 0
    assert b"\x00" not in po.copy_text
    po.copy_text.decode("utf-8")  # strict: PostgreSQL is handed valid UTF-8 only
    STATS.accepted_objects_loaded += 1
    STATS.events_loaded += len(po.event_ids)


def _check_reject_object(s3: RecordingS3, rejected: list[dict[str, Any]]) -> None:
    objects = s3.objects(rejected=True)
    assert len(objects) == (1 if rejected else 0)
    if not rejected:
        return
    put = objects[0]
    lines = gzip.decompress(put["Body"]).splitlines()
    records = [orjson.loads(line) for line in lines]
    assert [(r["index"], r["reason"]) for r in records] == [(r["index"], r["reason"]) for r in rejected]
    po = parse_object(put["Key"], "rejected", FIXED_NOW.date(), None, len(put["Body"]), [put["Body"]], **ETL_LIMITS)
    assert len(po.rejects) == len(rejected)
    for row, sent, line in zip(po.rejects, rejected, lines, strict=True):
        _key, _line_no, index, stage, reason, payload, *_ = row
        if len(line) > ETL_LIMITS["max_line"]:  # kept whole in the lake, as an excerpt in the warehouse
            assert stage == "etl" and reason.startswith("line too long")
        else:
            assert (stage, index, reason) == ("ingest", sent["index"], sent["reason"])
        for value in row:
            assert not isinstance(value, str) or text_problem(value) is None
        if payload is not None:
            assert value_problem(orjson.loads(payload)) is None
    STATS.reject_objects_loaded += 1


@FUZZ
@given(neighbour_cases())
def test_hostile_events_never_cost_their_valid_neighbours(case: Case) -> None:
    run_case(case)


@FUZZ
@given(body_cases())
def test_hostile_bodies_get_a_reasoned_4xx_or_a_counted_200(case: Case) -> None:
    run_case(case)


@FUZZ
@given(request_cases())
def test_odd_headers_methods_paths_and_request_ids_never_yield_5xx(case: Case) -> None:
    run_case(case)


@FUZZ
@given(gateway_cases())
def test_malformed_api_gateway_events_never_raise(case: Case) -> None:
    run_case(case)
