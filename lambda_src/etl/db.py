"""Warehouse connection: DW_DSN locally, host/user plus an SSM SecureString password on AWS."""

from __future__ import annotations

import psycopg

from etl.config import Settings

#: Key of the session-level advisory lock that serialises ETL runs and replays. It is what
#: keeps runs apart: the function has no reserved concurrency by default (a new account's
#: quota cannot grant one), so two scheduled runs may start together and the second skips;
#: it also covers a replay started by an operator while the schedule fires.
LOCK_KEY = 0x0C11C57E
_PASSWORD_CACHE: dict[str, str] = {}


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be reached or is not migrated; nothing was loaded."""


def _password(settings: Settings) -> str:
    name = settings.dw_password_param or ""
    if name not in _PASSWORD_CACHE:
        import boto3  # in the Lambda runtime; imported lazily so DW_DSN runs need no AWS

        resp = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)
        _PASSWORD_CACHE[name] = resp["Parameter"]["Value"]
    return _PASSWORD_CACHE[name]


def describe(settings: Settings) -> str:
    """Where we connect, for error messages (never the password)."""
    if settings.dw_dsn:
        info = psycopg.conninfo.conninfo_to_dict(settings.dw_dsn)
        return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
    return f"{settings.dw_host}:{settings.dw_port}/{settings.dw_name}"


def connect(settings: Settings) -> psycopg.Connection:
    """Open a connection (autocommit off) or raise :class:`WarehouseUnavailable`."""
    kwargs = {"connect_timeout": settings.connect_timeout_s, "application_name": "clickstream-etl"}
    try:
        if settings.dw_dsn:
            conn = psycopg.connect(settings.dw_dsn, **kwargs)
        else:
            conn = psycopg.connect(
                host=settings.dw_host, port=settings.dw_port, dbname=settings.dw_name,
                user=settings.dw_user, password=_password(settings),
                sslmode=settings.dw_sslmode, **kwargs,
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
