"""ETL settings from the environment (ARCHITECTURE section 4).

Everything tunable has a default that suits the Lambda; tests and the benchmark pass a
:class:`Settings` directly instead of going through the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from common import lake
from common.lake import MAX_LINE_BYTES


class ConfigError(ValueError):
    """The environment is missing or has a malformed setting."""


#: libpq's sslmode values; the last two check the server's certificate against a CA.
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
VERIFYING_SSLMODES = ("verify-ca", "verify-full")


def _sslmode(env: Mapping[str, str], ca_param: str | None, dsn: str | None) -> str:
    """DW_SSLMODE, defaulting to verify-full when the warehouse CA is given.

    Why strict: the warehouse host presents a self-signed certificate, so ``require`` or
    ``prefer`` encrypt but never check whom they talk to. With the host's CA certificate
    (DW_CA_PARAM) the server is verified, so a CA with a mode that would ignore it, or a
    verifying mode without a CA (libpq would look for ~/.postgresql/root.crt, absent on
    Lambda), is a configuration error rather than a silent downgrade. DW_DSN connections
    carry their own sslmode in the DSN (local runs and tests).
    """
    raw = env.get("DW_SSLMODE", "").strip()
    mode = raw or ("verify-full" if ca_param else "prefer")
    if mode not in SSLMODES:
        raise ConfigError(f"DW_SSLMODE must be one of {', '.join(SSLMODES)}, got {raw!r}")
    if dsn:
        return mode
    if mode in VERIFYING_SSLMODES and not ca_param:
        raise ConfigError(
            f"DW_SSLMODE={mode} verifies the warehouse's certificate and needs its CA: set DW_CA_PARAM "
            "to the SSM parameter holding the CA certificate (PEM)"
        )
    if ca_param and mode not in VERIFYING_SSLMODES:
        raise ConfigError(
            f"DW_CA_PARAM is set but DW_SSLMODE={mode} would not verify the server with it: "
            "use verify-full (the default when a CA is given) or verify-ca"
        )
    return mode


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """What one ETL run needs to know."""

    raw_bucket: str
    raw_prefix: str = lake.DEFAULT_PREFIX
    dw_dsn: str | None = None
    dw_host: str | None = None
    dw_port: int = 5432
    dw_name: str | None = None
    dw_user: str | None = None
    dw_password_param: str | None = None
    dw_sslmode: str = "prefer"
    #: Name (or ARN) of the SSM String parameter holding the warehouse's CA certificate (PEM).
    dw_ca_param: str | None = None
    connect_timeout_s: int = 10
    #: TCP keepalives on the warehouse connection, so a session whose peer vanished (host
    #: replaced, ENI gone) fails after idle + interval * count seconds instead of hanging
    #: until the Lambda timeout.
    keepalives_idle_s: int = 30
    keepalives_interval_s: int = 10
    keepalives_count: int = 3
    #: Days before the watermark that are listed again for late-arriving objects.
    lookback_days: int = 2
    #: Day to start from when the warehouse has no watermark yet (else: discovered).
    start_date: date | None = None
    #: An object whose read failed is due again after retry_base_s * 2^(attempts - 1)
    #: seconds, at most retry_max_s: retried by later runs until it loads or an operator
    #: marks it (python -m etl.mark). Objects whose bytes are bad are never retried.
    retry_base_s: int = 300
    retry_max_s: int = 3600
    #: Lease of the warehouse lock (etl.db.RunLock): the longest a killed run's lingering
    #: session can keep the next run out. Must exceed the longest step between renewals
    #: (one batch, one day's rollup refresh).
    lock_lease_s: int = 180
    #: How long a run asks again for a lock whose holder looks alive before it skips.
    lock_grace_s: float = 2.0
    #: Stop taking new work when less than this much Lambda time is left.
    safety_ms: int = 60_000
    max_object_bytes: int = 64 * 1024 * 1024
    max_decompressed_bytes: int = 256 * 1024 * 1024
    #: Decompressed/compressed bytes above which an object is refused as a bomb.
    max_compression_ratio: float = 100.0
    #: Ingest never writes a longer accepted line (common.lake): lowering it loses events.
    max_line_bytes: int = MAX_LINE_BYTES
    batch_max_events: int = 50_000
    batch_max_files: int = 500
    #: Threads for fetch + parse when worker processes are not used.
    workers: int = 8
    #: Worker processes for fetch + parse: -1 = one per CPU, 0 = threads only.
    parse_processes: int = -1
    #: Runs with fewer objects than this parse on threads (starting processes costs ~1 s).
    process_min_objects: int = 200
    #: Connections that refresh dirty days' rollups side by side (one day each).
    refresh_connections: int = 2
    #: Objects fetched and parsed ahead of the loader, at most ``prefetch_objects`` and at
    #: most ``prefetch_bytes`` of their listed (gzip) size: a parsed object holds about 15
    #: times its gzip size in the loader, so 8 MiB ahead is ~120 MB (~75k events at the
    #: lake's design size, more than one batch, so the workers keep going while it loads).
    prefetch_objects: int = 128
    prefetch_bytes: int = 8 * 1024 * 1024
    #: GETs in flight at once in each worker process, on one kept-alive connection each
    #: (:mod:`etl.fetching`): enough that a fixed per-GET latency hides behind parsing.
    #: With ~4 ms of client CPU per GET a worker does ~250 GETs/s, so a 30 ms round trip
    #: needs about 8 in flight; 16 leaves room for S3's slower tail.
    gets_in_flight: int = 16
    #: Events older than received_at minus this are rejected (a broken client clock).
    max_late_days: int = 30
    #: Events newer than received_at plus this are rejected.
    max_future_minutes: int = 24 * 60
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        bucket = env.get("RAW_BUCKET", "").strip()
        if not bucket:
            raise ConfigError("RAW_BUCKET is not set")
        prefix = env.get("RAW_PREFIX", lake.DEFAULT_PREFIX).strip()
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        try:
            lake.check_prefix(prefix)
        except lake.LayoutError as exc:
            raise ConfigError(f"RAW_PREFIX: {exc}") from None
        dsn = env.get("DW_DSN", "").strip() or None
        if not dsn:
            missing = [n for n in ("DW_HOST", "DW_NAME", "DW_USER", "DW_PASSWORD_PARAM")
                       if not env.get(n, "").strip()]
            if missing:
                raise ConfigError(
                    "set DW_DSN, or DW_HOST, DW_NAME, DW_USER and DW_PASSWORD_PARAM "
                    f"(missing: {', '.join(missing)})"
                )
        # A DSN carries its own TLS settings (sslmode, sslrootcert): DW_CA_PARAM belongs to the
        # host/user/parameter form. The local platform runs the deployed function, whose
        # environment names the CA parameter, against a local server through DW_DSN.
        ca_param = None if dsn else (env.get("DW_CA_PARAM", "").strip() or None)
        sslmode = _sslmode(env, ca_param, dsn)
        start = env.get("ETL_START_DATE", "").strip()
        try:
            start_date = date.fromisoformat(start) if start else None
        except ValueError as exc:
            raise ConfigError(f"ETL_START_DATE must be YYYY-MM-DD, got {start!r}") from exc
        return cls(
            raw_bucket=bucket,
            raw_prefix=prefix,
            dw_dsn=dsn,
            dw_host=env.get("DW_HOST") or None,
            dw_port=_int(env, "DW_PORT", 5432, 1),
            dw_name=env.get("DW_NAME") or None,
            dw_user=env.get("DW_USER") or None,
            dw_password_param=env.get("DW_PASSWORD_PARAM") or None,
            dw_sslmode=sslmode,
            dw_ca_param=ca_param,
            lookback_days=_int(env, "ETL_LOOKBACK_DAYS", 2),
            start_date=start_date,
            retry_base_s=_int(env, "ETL_RETRY_BASE_S", 300, 1),
            retry_max_s=_int(env, "ETL_RETRY_MAX_S", 3600, 1),
            lock_lease_s=_int(env, "ETL_LOCK_LEASE_S", 180, 10),
            max_compression_ratio=float(_int(env, "ETL_MAX_COMPRESSION_RATIO", 100, 2)),
            safety_ms=_int(env, "ETL_SAFETY_MS", 60_000),
            max_object_bytes=_int(env, "ETL_MAX_OBJECT_BYTES", 64 * 1024 * 1024, 1),
            max_decompressed_bytes=_int(env, "ETL_MAX_DECOMPRESSED_BYTES", 256 * 1024 * 1024, 1),
            max_line_bytes=_int(env, "ETL_MAX_LINE_BYTES", MAX_LINE_BYTES, 1024),
            batch_max_events=_int(env, "ETL_BATCH_MAX_EVENTS", 50_000, 1),
            batch_max_files=_int(env, "ETL_BATCH_MAX_FILES", 500, 1),
            workers=_int(env, "ETL_WORKERS", 8, 1),
            parse_processes=_int(env, "ETL_PARSE_PROCESSES", -1, -1),
            process_min_objects=_int(env, "ETL_PROCESS_MIN_OBJECTS", 200),
            prefetch_objects=_int(env, "ETL_PREFETCH_OBJECTS", 128, 1),
            prefetch_bytes=_int(env, "ETL_PREFETCH_BYTES", 8 * 1024 * 1024, 1),
            gets_in_flight=_int(env, "ETL_GETS_IN_FLIGHT", 16, 1),
            refresh_connections=_int(env, "ETL_REFRESH_CONNECTIONS", 2, 1),
            max_late_days=_int(env, "ETL_MAX_LATE_DAYS", 30, 1),
        )
