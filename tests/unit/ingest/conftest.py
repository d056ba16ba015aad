"""Fixtures for the ingest Lambda tests: a real S3 bucket in the emulator and a configured app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from ingest.app import IngestApp
from ingest.settings import Settings
from ingest_helpers import APP_ID, FIXED_NOW


@pytest.fixture
def bucket(fresh_emulator) -> str:
    name = "raw-ingest-test"
    boto3.client("s3", endpoint_url=fresh_emulator.endpoint_url).create_bucket(Bucket=name)
    return name


@pytest.fixture
def make_app(bucket: str) -> Callable[..., IngestApp]:
    def make(**overrides: Any) -> IngestApp:
        settings = Settings(raw_bucket=bucket, allowed_app_ids=frozenset({APP_ID}),
                            cors_allow_origins=frozenset({"https://shop.example"}))
        fields = {**settings.__dict__, **overrides}
        return IngestApp(Settings(**fields), boto3.client("s3"), clock=lambda: FIXED_NOW)

    return make


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print what the fuzz suite tried (cases, statuses, identity checks), when it ran."""
    from fuzz_stats import STATS

    if STATS.cases:
        terminalreporter.section("ingest fuzz summary")
        for line in STATS.summary():
            terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under ``make fuzz`` (INGEST_FUZZ_MIN_CASES set), fewer cases than promised is a failure."""
    import os

    from fuzz_stats import MIN_CASES_ENV, STATS

    minimum = int(os.environ.get(MIN_CASES_ENV) or 0)
    if minimum and STATS.cases < minimum and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\ningest fuzz ran {STATS.cases} cases, fewer than {minimum} ({MIN_CASES_ENV})")
