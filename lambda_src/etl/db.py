"""Warehouse connection: DW_DSN locally, host/user plus an SSM SecureString password on AWS.

On AWS the server's certificate is verified when DW_CA_PARAM names the SSM parameter the
warehouse host publishes its CA certificate (PEM) to: it is read once per cold start, written
under the temporary directory (/tmp on Lambda, the only writable path) and handed to libpq as
``sslrootcert`` with ``sslmode=verify-full``. Every connection sets TCP keepalives, so a
session whose peer has gone (host replaced, network path lost) errors within about a minute
instead of blocking until the function's timeout.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import psycopg

from etl.config import Settings

#: Key of the session-level advisory lock that serialises ETL runs and replays. It is what
#: keeps runs apart: the function has no reserved concurrency by default (a new account's
#: quota cannot grant one), so two scheduled runs may start together and the second skips;
#: it also covers a replay started by an operator while the schedule fires.
LOCK_KEY = 0x0C11C57E
_PASSWORD_CACHE: dict[str, str] = {}
#: PEM text of the warehouse CA per parameter name: fetched once per cold start (the runner's
#: refresh threads connect side by side, hence the lock).
_CA_CACHE: dict[str, str] = {}
_CA_LOCK = threading.Lock()
PEM_MARKER = "-----BEGIN CERTIFICATE-----"


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be reached or is not migrated; nothing was loaded."""


def _password(settings: Settings) -> str:
    name = settings.dw_password_param or ""
    if name not in _PASSWORD_CACHE:
        import boto3  # in the Lambda runtime; imported lazily so DW_DSN runs need no AWS

        resp = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)
        _PASSWORD_CACHE[name] = resp["Parameter"]["Value"]
    return _PASSWORD_CACHE[name]


def _ca_pem(name: str) -> str:
    """The CA certificate from the SSM String parameter ``name`` (cached per cold start)."""
    with _CA_LOCK:
        if name not in _CA_CACHE:
            import boto3  # in the Lambda runtime; imported lazily so DW_DSN runs need no AWS
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                value = boto3.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
            except (BotoCoreError, ClientError) as exc:  # missing parameter, access denied, network
                raise WarehouseUnavailable(
                    f"cannot read the warehouse CA certificate from SSM parameter {name} (DW_CA_PARAM): {exc}"
                ) from exc
            if PEM_MARKER not in value:
                raise WarehouseUnavailable(
                    f"SSM parameter {name} (DW_CA_PARAM) does not hold a PEM certificate "
                    f"(no '{PEM_MARKER}' line)"
                )
            _CA_CACHE[name] = value
        return _CA_CACHE[name]


def ca_file(name: str, directory: Path | None = None) -> Path:
    """Path of a file holding the CA certificate of parameter ``name``, written if absent.

    The file name is derived from the parameter name, so two parameters never share a file;
    it is written to a temporary name and renamed, so a concurrent connect never reads half
    a certificate. Checked on every call: /tmp may be emptied between invocations.
    """
    pem = _ca_pem(name)
    directory = Path(directory or tempfile.gettempdir())
    path = directory / f"dw-ca-{hashlib.sha256(name.encode()).hexdigest()[:16]}.pem"
    if not path.exists() or path.read_text() != pem:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".dw-ca-", suffix=".pem")
        with os.fdopen(fd, "w") as fh:
            fh.write(pem)
        os.replace(tmp, path)
    return path


def connect_kwargs(settings: Settings, ca_path: Path | None = None) -> dict[str, Any]:
    """libpq options every connection gets (besides host, user and password).

    A given CA file means ``sslrootcert`` plus the settings' verifying sslmode (verify-full
    unless verify-ca was asked for); keepalives always.
    """
    kwargs: dict[str, Any] = {
        "connect_timeout": settings.connect_timeout_s,
        "application_name": "clickstream-etl",
        "keepalives": 1,
        "keepalives_idle": settings.keepalives_idle_s,
        "keepalives_interval": settings.keepalives_interval_s,
        "keepalives_count": settings.keepalives_count,
    }
    if ca_path is not None:
        kwargs["sslmode"] = settings.dw_sslmode
        kwargs["sslrootcert"] = str(ca_path)
    elif not settings.dw_dsn:
        kwargs["sslmode"] = settings.dw_sslmode
    return kwargs


def describe(settings: Settings) -> str:
    """Where we connect, for error messages (never the password)."""
    if settings.dw_dsn:
        info = psycopg.conninfo.conninfo_to_dict(settings.dw_dsn)
        return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
    return f"{settings.dw_host}:{settings.dw_port}/{settings.dw_name}"


def connect(settings: Settings) -> psycopg.Connection:
    """Open a connection (autocommit off) or raise :class:`WarehouseUnavailable`."""
    kwargs = connect_kwargs(settings, ca_file(settings.dw_ca_param) if settings.dw_ca_param else None)
    try:
        if settings.dw_dsn:
            conn = psycopg.connect(settings.dw_dsn, **kwargs)
        else:
            conn = psycopg.connect(
                host=settings.dw_host, port=settings.dw_port, dbname=settings.dw_name,
                user=settings.dw_user, password=_password(settings), **kwargs,
            )
    except psycopg.OperationalError as exc:
        raise WarehouseUnavailable(
            f"cannot connect to the warehouse at {describe(settings)}: {str(exc).strip()}"
        ) from exc
    ok = conn.execute("SELECT to_regclass('dw.loaded_files') IS NOT NULL").fetchone()[0]
    conn.commit()
    if not ok:
        conn.close()
        raise WarehouseUnavailable(
            f"the warehouse at {describe(settings)} has no dw schema: apply the sql/dw migrations"
        )
    return conn


def try_lock(conn: psycopg.Connection) -> bool:
    """Take the ETL advisory lock for this session; False if another run holds it."""
    got = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]
    conn.commit()
    return bool(got)


def release(conn: psycopg.Connection) -> None:
    """Release the ETL lock, then close the connection.

    Closing alone releases a session lock only when the server backend has finished
    exiting, which happens after the client has moved on: a run or replay started right
    after this one could still find the lock taken and skip. Unlocking first is
    synchronous. A broken connection holds nothing worth unlocking.
    """
    try:
        if not conn.closed:
            conn.rollback()
            conn.execute("SELECT pg_advisory_unlock_all()")
            conn.commit()
    except psycopg.Error:
        pass
    finally:
        conn.close()
