"""The ETL's S3 client: sized for the GETs it keeps in flight, endpoint and TLS from boto3's
standard configuration, never a hard-coded endpoint."""

from __future__ import annotations

import pytest
from etl.config import ConfigError, Settings
from etl.fetching import s3_client

pytestmark = pytest.mark.unit

ENV = {"RAW_BUCKET": "b", "DW_DSN": "postgresql://x/y"}


def test_gets_in_flight_comes_from_the_environment() -> None:
    assert Settings.from_env(ENV).gets_in_flight == 16
    assert Settings.from_env({**ENV, "ETL_GETS_IN_FLIGHT": "24"}).gets_in_flight == 24
    with pytest.raises(ConfigError, match="ETL_GETS_IN_FLIGHT must be >= 1"):
        Settings.from_env({**ENV, "ETL_GETS_IN_FLIGHT": "0"})


@pytest.mark.parametrize(("gets", "threads"), [(24, 8), (4, 12)])
def test_the_pool_holds_a_connection_for_every_get_in_flight(gets: int, threads: int) -> None:
    """A smaller pool would open, then throw away, a connection for each GET over its size."""
    client = s3_client(Settings(raw_bucket="b", gets_in_flight=gets, workers=threads))
    config = client.meta.config
    assert config.max_pool_connections >= max(gets, threads)
    assert config.tcp_keepalive is True
    assert config.retries["mode"] == "standard"


def test_endpoint_and_tls_come_from_the_standard_configuration(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://s3.example.test:8443")
    client = s3_client(Settings(raw_bucket="b"))
    assert client.meta.endpoint_url == "https://s3.example.test:8443"
    assert client._endpoint.http_session._verify not in (False, None)  # certificates checked (True or a CA bundle)
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert s3_client(Settings(raw_bucket="b")).meta.endpoint_url == "https://s3.eu-west-1.amazonaws.com"
