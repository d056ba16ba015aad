"""The S3 fault proxy: forwards untouched, fails exactly what it is told, stays on loopback.

The ETL's fault tests rely on each failure mode looking to boto3 the way the real failure
does (a throttling answer botocore retries, a reset, a read timeout, a body cut short), and
on requests not chosen passing through byte for byte.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError, ResponseStreamingError

from clickstream.s3proxy import ProxyStats, S3Proxy

pytestmark = pytest.mark.harness

BUCKET = "s3proxy-harness"


@pytest.fixture(scope="module")
def proxy(emulator) -> Iterator[S3Proxy]:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    with S3Proxy(emulator.endpoint_url, hold_s=3) as p:
        yield p


@pytest.fixture
def client(proxy: S3Proxy):
    proxy.clear()
    return boto3.client("s3", endpoint_url=proxy.url, config=Config(
        read_timeout=1, connect_timeout=1, retries={"mode": "standard", "total_max_attempts": 2},
        s3={"addressing_style": "path"}))


def put(body: bytes) -> str:
    key = f"k/{uuid.uuid4()}.bin"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body, Metadata={"events": "3"})
    return key


def test_requests_not_chosen_pass_through_unchanged(proxy: S3Proxy, client) -> None:
    body = bytes(range(256)) * 1000
    key = put(body)
    other = put(b"x")
    proxy.fail(key=other, mode="status")
    got = client.get_object(Bucket=BUCKET, Key=key)
    assert got["Body"].read() == body and got["Metadata"] == {"events": "3"}
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="k/")
    assert {o["Key"] for o in listed["Contents"]} >= {key, other}
    client.put_object(Bucket=BUCKET, Key="k/through-proxy", Body=b"via proxy")
    assert boto3.client("s3").get_object(Bucket=BUCKET, Key="k/through-proxy")["Body"].read() == b"via proxy"
    assert proxy.gets(key) == 1


def test_a_throttled_get_fails_as_many_times_as_asked(proxy: S3Proxy, client) -> None:
    key = put(b"payload")
    proxy.fail(key=key, mode="status", status=503, code="SlowDown", times=2)
    with pytest.raises(ClientError, match="SlowDown"):
        client.get_object(Bucket=BUCKET, Key=key)  # botocore's two attempts both throttled
    assert proxy.gets(key) == 2
    assert client.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"payload"


@pytest.mark.parametrize(("mode", "error"), [
    ("reset", ConnectionClosedError), ("timeout", ReadTimeoutError),
])
def test_a_reset_or_a_silent_server_is_a_connection_error(proxy: S3Proxy, client, mode, error) -> None:
    key = put(b"payload")
    proxy.fail(key=key, mode=mode)
    with pytest.raises(error):
        client.get_object(Bucket=BUCKET, Key=key)


def test_a_truncated_body_fails_the_read(proxy: S3Proxy, client) -> None:
    key = put(b"0123456789" * 10_000)
    proxy.fail(key=re.compile(re.escape(key)), mode="truncate")
    resp = client.get_object(Bucket=BUCKET, Key=key)
    with pytest.raises((ResponseStreamingError, OSError)):
        resp["Body"].read()


def test_only_loopback(emulator) -> None:
    with pytest.raises(ValueError, match="loopback only"):
        S3Proxy("http://192.0.2.10:9000")
    with pytest.raises(ValueError, match="loopback only"):
        S3Proxy(emulator.endpoint_url, host="0.0.0.0")  # noqa: S104 - the refusal under test
    with pytest.raises(ValueError, match="mode must be one of"):
        S3Proxy(emulator.endpoint_url).fail(mode="explode")


def test_it_counts_connections_and_requests_in_flight(proxy: S3Proxy, client) -> None:
    """What the ETL's reuse and in-flight tests read: kept-alive GETs share one connection,
    and requests held by the delay are counted at once."""
    from concurrent.futures import ThreadPoolExecutor

    keys = [put(b"x") for _ in range(5)]
    assert proxy.wait_idle(), "a request of an earlier test is still held by the proxy"
    proxy.reset_stats()
    for key in keys:
        client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert proxy.stats() == ProxyStats(connections=1, requests=5, peak_in_flight=1)
    proxy.reset_stats()
    proxy.latency_s = 0.3
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(lambda k: client.get_object(Bucket=BUCKET, Key=k)["Body"].read(), keys[:3]))
    finally:
        proxy.latency_s = 0.0
    stats = proxy.stats()
    assert stats.requests == 3 and 2 <= stats.peak_in_flight <= 3
