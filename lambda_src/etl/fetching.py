"""GET one raw object and parse it: the work a parse worker (process or thread) does.

Its own module so that both the run (:mod:`etl.runner`, which parses on threads when it
cannot start processes) and the worker processes (:mod:`etl.workers`) depend on it, and
neither on the other: runner -> workers -> fetching -> parsing, one way.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from common.lake import declared_count

from etl.config import Settings
from etl.listing import RawObject
from etl.parsing import ObjectError, ParsedObject, ReadError, parse_object


def _read_errors() -> tuple[type[BaseException], ...]:
    """What a failed GET raises: retried by later runs, never taken for a bad object."""
    from http.client import HTTPException

    from botocore.exceptions import BotoCoreError, ClientError
    from urllib3.exceptions import HTTPError

    return (BotoCoreError, ClientError, HTTPError, HTTPException, OSError)


def s3_client(settings: Settings) -> Any:
    """The one boto3 S3 client of a process (or of a run's threads), reused for every GET.

    boto3's standard configuration decides the endpoint (``AWS_ENDPOINT_URL``, the
    service-specific variable, the config file) and the credentials; nothing here names an
    endpoint, and TLS verification stays boto3's default (on). Tuned for many small GETs:

    * the pool holds a connection for every GET that can be in flight
      (``gets_in_flight``, or ``workers`` threads): a smaller pool would open and throw
      away a connection per GET over its size, which is the TCP (and, on AWS, TLS)
      handshake the reuse is there to avoid;
    * TCP keepalive, so a pooled connection a NAT or load balancer dropped while idle is
      found dead by the OS rather than by a GET that hangs until its read timeout;
    * bounded timeouts and "standard" retries (throttling and 5xx backed off), so one
      stalled GET costs at most about a minute (three attempts) before it becomes a read
      failure that a later run retries;
    * response checksums are still validated when S3 stored one (botocore's default): it
      is CRC work in C, and it is what tells a corrupted body from a good one.

    Creating a client costs ~15 ms of CPU and a new connection per first request (measured
    by ``python -m clickstream.bench etl_latency``): never one per object.
    """
    import boto3
    from botocore.config import Config

    pool = max(settings.gets_in_flight, settings.workers) + 2  # + listing and a retry's new socket
    return boto3.client("s3", config=Config(
        max_pool_connections=pool, connect_timeout=5, read_timeout=20, tcp_keepalive=True,
        retries={"mode": "standard", "total_max_attempts": 3},
    ))


def fetch(s3: Any, settings: Settings, obj: RawObject) -> tuple[bytes, str | None, dict[str, str]]:
    """GET one object whole (size-checked): its bytes, ETag and user metadata.

    Raises :class:`ObjectError` for an object over ``max_object_bytes`` (permanent) and
    :class:`ReadError` for anything that went wrong reading it (retried by later runs),
    including a body shorter than its Content-Length. The body is read whole (it is at most
    ``max_object_bytes``) and kept by the process that parsed it (the worker, in process
    mode) so the loader can re-parse it without rows it already has, with no second GET.
    """
    if obj.size > settings.max_object_bytes:
        raise ObjectError(f"object is {obj.size} bytes, over the {settings.max_object_bytes} limit")
    try:
        resp = s3.get_object(Bucket=settings.raw_bucket, Key=obj.key)
        body = resp["Body"]
        try:
            data = body.read(settings.max_object_bytes + 1)
        finally:
            body.close()
    except _read_errors() as exc:
        raise ReadError(f"cannot read object: {type(exc).__name__}: {exc}"[:1000]) from exc
    if len(data) > settings.max_object_bytes:
        raise ObjectError(f"object is over the {settings.max_object_bytes} bytes limit")
    expected = resp.get("ContentLength")
    if isinstance(expected, int) and len(data) < expected:
        raise ReadError(f"cannot read object: short read, {len(data)} of {expected} bytes")
    etag = (resp.get("ETag") or obj.etag or "").strip('"') or None
    return data, etag, dict(resp.get("Metadata") or {})


def parse_fetched(settings: Settings, obj: RawObject, data: bytes, etag: str | None,
                  metadata: dict[str, str] | None = None) -> ParsedObject:
    """Parse the bytes :func:`fetch` returned (a refused object's error carries its declared count)."""
    declared = declared_count(metadata)
    try:
        return parse_object(
            obj.key, obj.kind, obj.dt, etag, obj.size, [data],
            max_decompressed=settings.max_decompressed_bytes, max_line=settings.max_line_bytes,
            max_late=timedelta(days=settings.max_late_days),
            max_future=timedelta(minutes=settings.max_future_minutes),
            max_ratio=settings.max_compression_ratio, declared=declared,
        )
    except ObjectError as exc:
        exc.declared = declared
        raise


def fetch_and_parse(s3: Any, settings: Settings, obj: RawObject) -> ParsedObject:
    """GET then parse (what a thread of the thread pool runs)."""
    return parse_fetched(settings, obj, *fetch(s3, settings, obj))
