"""boto3 clients configured the same way in every Lambda.

Plain boto3 standard configuration: the endpoint comes from ``AWS_ENDPOINT_URL`` (and the
service-specific ``AWS_ENDPOINT_URL_<SERVICE>``) when set, which is how both emulators are
reached; nothing here hard-codes an endpoint. Clients are cached per service and endpoint so a
warm Lambda reuses its connection pool.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

#: Retries in "standard" mode back off and retry throttling and 5xx from S3, bounded so a
#: request stays well inside the API Gateway 30 s integration timeout.
DEFAULT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=2,
    read_timeout=5,
)


@lru_cache(maxsize=16)
def _client(service: str, endpoint: str | None, region: str | None) -> Any:
    config = DEFAULT_CONFIG
    if service == "s3" and endpoint:
        # Emulators (moto, LocalStack) serve S3 path-style on one host name.
        config = config.merge(Config(s3={"addressing_style": "path"}))
    # The region is passed, not only part of the cache key: Lambda sets AWS_REGION, which
    # boto3's own lookup does not read (it reads AWS_DEFAULT_REGION).
    return boto3.session.Session(region_name=region).client(service, config=config)


def client(service: str) -> Any:
    """A cached boto3 client for ``service`` honouring the current environment."""
    return _client(
        service,
        os.environ.get("AWS_ENDPOINT_URL") or os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}"),
        os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
    )
