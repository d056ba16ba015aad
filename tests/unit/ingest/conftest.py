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
    boto3.client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture
def make_app(bucket: str) -> Callable[..., IngestApp]:
    def make(**overrides: Any) -> IngestApp:
        settings = Settings(raw_bucket=bucket, allowed_app_ids=frozenset({APP_ID}),
                            cors_allow_origins=frozenset({"https://shop.example"}))
        fields = {**settings.__dict__, **overrides}
        return IngestApp(Settings(**fields), boto3.client("s3"), clock=lambda: FIXED_NOW)

    return make
