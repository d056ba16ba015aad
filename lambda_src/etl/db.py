"""Warehouse connection: DW_DSN locally, host/user plus an SSM SecureString password on AWS.

On AWS the server's certificate is verified when DW_CA_PARAM names the SSM parameter the
warehouse host publishes its CA certificate (PEM) to: it is read once per cold start, written
under the temporary directory (/tmp on Lambda, the only writable path) and handed to libpq as
``sslrootcert`` with ``sslmode=verify-full``. Every connection sets TCP keepalives, so a
session whose peer has gone (host replaced, network path lost) errors within about a minute
instead of blocking until the function's timeout.

Runs and replays are kept apart by a lease on one row of ``dw.etl_lock`` (:class:`RunLock`):
the function has no reserved concurrency by default (a new account's quota cannot grant
one), so two scheduled runs may start together and the second skips, and an operator's
replay may start while the schedule fires.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from common.jsonlog import get_logger

from etl.config import Settings

log = get_logger("etl")
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
    ok, locked = conn.execute(
        "SELECT to_regclass('dw.loaded_files') IS NOT NULL, to_regclass('dw.etl_lock') IS NOT NULL").fetchone()
    conn.commit()
    if not ok or not locked:
        conn.close()
        what = "no dw schema" if not ok else "no dw.etl_lock (sql/dw/0002_dw_load_manifest)"
        raise WarehouseUnavailable(
            f"the warehouse at {describe(settings)} has {what}: apply the sql/dw migrations"
        )
    return conn


class LockLost(RuntimeError):
    """Another run took the warehouse lock over (this run's lease ran out): stop now."""


#: The lock row (sql/dw/0002_dw_load_manifest) and what a run does with it.
_LOCK_ROW = "etl"
_ALIVE = """EXISTS (SELECT 1 FROM pg_stat_activity a
                     WHERE a.pid = l.backend_pid
                       AND (a.backend_start IS NULL OR a.backend_start = l.backend_start))"""
_READ_LOCK = f"""
SELECT l.holder::text, l.backend_pid, l.purpose, l.expires_at <= clock_timestamp() AS expired,
       {_ALIVE} AS alive
  FROM dw.etl_lock l WHERE l.name = %s"""
_TAKE_LOCK = """
UPDATE dw.etl_lock
   SET holder = %(holder)s, purpose = %(purpose)s, backend_pid = pg_backend_pid(),
       backend_start = (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()),
       acquired_at = clock_timestamp(), renewed_at = clock_timestamp(),
       expires_at = clock_timestamp() + make_interval(secs => %(lease)s), released_at = NULL,
       taken_over = taken_over + %(took_over)s::int
 WHERE name = %(name)s"""
_RENEW = """
UPDATE dw.etl_lock SET renewed_at = clock_timestamp(),
       expires_at = clock_timestamp() + make_interval(secs => %(lease)s)
 WHERE name = %(name)s AND holder = %(holder)s"""
_RELEASE = """
UPDATE dw.etl_lock SET holder = NULL, purpose = NULL, backend_pid = NULL, backend_start = NULL,
       expires_at = NULL, released_at = clock_timestamp()
 WHERE name = %(name)s AND holder = %(holder)s"""


@dataclass
class RunLock:
    """This run's lease on the warehouse lock row (``dw.etl_lock``).

    Why a lease row and not ``pg_try_advisory_lock``: a session lock lives as long as the
    server keeps the session, and a killed Lambda's session can linger (a frozen sandbox, a
    lost network path leave the backend waiting) while every later run skips. The row says
    who holds the lock (a random holder id, its backend pid and start time) and until when
    (``expires_at``). A run takes it when it is free, when the holder's backend is gone
    (a SIGKILLed or crashed client: its session closes at once) or when the lease has run
    out (a session that lingers: its backend is then terminated, so nothing it left open
    can commit later). The holder renews the lease as it works, and every batch proves it
    still holds the row inside its own transaction (:meth:`fence`), keeping the row locked
    until commit: a run that lost its lease can never commit after the run that took over.
    So the lock outlives its run by at most ``lease_s`` seconds, and by nothing when the
    run's session has closed.
    """

    holder: str
    lease_s: float
    purpose: str
    took_over: str | None = None
    _renewed: float = field(default_factory=time.monotonic)

    def fence(self, cur: psycopg.Cursor) -> None:
        """Inside the caller's transaction: renew, or raise :class:`LockLost` if not ours."""
        cur.execute(_RENEW, {"name": _LOCK_ROW, "holder": self.holder, "lease": float(self.lease_s)})
        if cur.rowcount != 1:
            raise LockLost(f"the warehouse lock was taken over from this {self.purpose} (lease of "
                           f"{self.lease_s:g} s ran out); stopping")
        self._renewed = time.monotonic()

    def renew(self, conn: psycopg.Connection) -> None:
        """Renew in a transaction of its own (between steps, or on a refresh connection)."""
        with conn.transaction(), conn.cursor() as cur:
            self.fence(cur)

    def keep_alive(self, conn: psycopg.Connection) -> None:
        """Renew when a third of the lease has passed since the last renewal (cheap to call often)."""
        if time.monotonic() - self._renewed >= self.lease_s / 3:
            self.renew(conn)

    def release(self, conn: psycopg.Connection) -> None:
        with conn.transaction():
            conn.execute(_RELEASE, {"name": _LOCK_ROW, "holder": self.holder})


def acquire_lock(conn: psycopg.Connection, *, purpose: str, lease_s: float = 180,
                 grace_s: float = 2.0) -> RunLock | None:
    """Take the warehouse lock, or None when a live run holds it.

    A holder that looks alive is asked again for up to ``grace_s`` seconds before giving
    up: a client killed a moment ago has closed its socket, but its backend takes a few
    milliseconds to leave pg_stat_activity.
    """
    deadline = time.monotonic() + grace_s
    retries = 0
    terminated: dict[int, str] = {}  # backends this call ended, and why
    while True:
        got = _attempt(conn, purpose, lease_s, terminated)
        if isinstance(got, RunLock):
            return got
        if got == "retry" and retries < 3:  # a stale holder was just terminated
            retries += 1
            continue
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)


def _attempt(conn: psycopg.Connection, purpose: str, lease_s: float, terminated: dict[int, str]) -> RunLock | str:
    holder = str(uuid.uuid4())
    try:
        with conn.transaction(), conn.cursor() as cur:
            # A live holder keeps the row locked only while it commits a batch; waiting
            # longer than this means a transaction that is stuck (or a concurrent taker).
            cur.execute("SET LOCAL lock_timeout = '1s'")
            row = cur.execute(_READ_LOCK + " FOR UPDATE", (_LOCK_ROW,)).fetchone()
            if row is None:
                raise WarehouseUnavailable("dw.etl_lock has no 'etl' row: apply the sql/dw migrations")
            old, pid, old_purpose, expired, alive = row
            took_over = None
            if old is not None and alive:
                if not expired:
                    return "busy"
                _terminate(cur, pid)
                took_over = f"{old_purpose} of backend {pid} (its lease ran out)"
            elif old is not None:
                took_over = terminated.get(pid) or f"{old_purpose} of backend {pid} (its session had ended)"
            cur.execute(_TAKE_LOCK, {"holder": holder, "purpose": purpose, "lease": float(lease_s),
                                     "name": _LOCK_ROW, "took_over": took_over is not None})
    except psycopg.errors.LockNotAvailable:
        # The row is locked by an open transaction: a batch being committed, a run taking the
        # lock -- or the holder's transaction left open by a client that vanished. In that
        # case its committed lease runs out, and its backend is terminated.
        row = conn.execute(_READ_LOCK, (_LOCK_ROW,)).fetchone()
        conn.commit()
        old, pid, old_purpose, expired, alive = row
        if old is not None and alive and expired:
            with conn.transaction(), conn.cursor() as cur:
                if _terminate(cur, pid):
                    terminated[pid] = f"{old_purpose} of backend {pid} (its lease ran out inside a transaction)"
                    return "retry"
        return "busy"
    log.info("warehouse lock taken", extra={"fields": {"purpose": purpose, "holder": holder,
                                                       "taken_over_from": took_over}})
    return RunLock(holder=holder, lease_s=lease_s, purpose=purpose, took_over=took_over)


def _terminate(cur: psycopg.Cursor, pid: int) -> bool:
    """End a stale holder's backend, waiting up to 5 s for it to go; False if not allowed.

    Why terminate rather than just take the row: a lingering session may hold a batch
    transaction open (and row locks with it); ending it aborts that transaction, so it can
    neither commit later nor keep the new run waiting. The ETL's role may signal its own
    sessions; another role's (an operator's replay) it may not, and is then only fenced out.
    """
    try:
        with cur.connection.transaction():
            cur.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
    except psycopg.errors.InsufficientPrivilege:
        log.warning("cannot terminate a stale holder's backend (another role's); relying on the lease fence",
                    extra={"fields": {"backend_pid": pid}})
        return False
    log.warning("terminated a backend whose lease on the warehouse lock had run out",
                extra={"fields": {"backend_pid": pid}})
    return True


def release_lock(conn: psycopg.Connection, lock: RunLock | None) -> None:
    """Give the lock back and close the connection (a broken connection holds nothing:
    its backend is gone, so the next run takes the row over at once)."""
    try:
        if lock is not None and not conn.closed:
            conn.rollback()
            lock.release(conn)
    except psycopg.Error:
        pass
    finally:
        conn.close()
