"""A throwaway PostgreSQL server from the system binaries.

Tests, benchmarks and the demo need a real PostgreSQL 15, not a mock. This starts one in a
private data directory on a free loopback port and removes it again. ``initdb`` refuses to
run as root, so as root every server command runs as the ``postgres`` user through
``runuser``; on a laptop as a normal user the same code runs the binaries directly.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from clickstream import REPO_ROOT
from clickstream.net import free_port, port_open, wait_for_port

#: The provisioning SQL of the hosts' bootstrap, shared so tests provision the same way.
HOST_SQL = REPO_ROOT / "hosts" / "sql"

INSTALL_HINT = (
    "PostgreSQL 15 server binaries are required: on Debian/Ubuntu `apt-get install "
    "postgresql-15` (or `postgresql`), on macOS `brew install postgresql@15`; or set "
    "PG_BINDIR to the folder holding initdb and pg_ctl."
)
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresError(RuntimeError):
    """The server could not be found, started or stopped."""


def find_bindir() -> Path:
    """Folder with ``initdb``/``pg_ctl``: PG_BINDIR, else version 15, else the newest found."""
    explicit = os.environ.get("PG_BINDIR")
    candidates = [explicit] if explicit else []
    candidates.append("/usr/lib/postgresql/15/bin")
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if shutil.which("pg_ctl"):
        candidates.append(str(Path(shutil.which("pg_ctl")).parent))  # type: ignore[arg-type]
    for c in candidates:
        if c and (Path(c) / "initdb").is_file() and (Path(c) / "pg_ctl").is_file():
            return Path(c)
    raise PostgresError(f"no PostgreSQL server binaries found (looked in {candidates}). {INSTALL_HINT}")


def _as_server_user() -> list[str]:
    """Command prefix that runs a server binary as a non-root user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise PostgresError(
            "running as root, and initdb refuses root, but there is no `postgres` user to run "
            f"it as. {INSTALL_HINT}"
        ) from exc
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class PostgresServer:
    """One running server. Use :func:`postgres_server` to get a started one."""

    port: int = 0
    host: str = "127.0.0.1"
    fsync: bool = False
    #: Libraries to preload (``shared_preload_libraries``), e.g. ``pg_stat_statements`` for
    #: the benchmarks' per-statement figures; none for the tests.
    preload: tuple[str, ...] = ()
    datadir: Path = field(default_factory=lambda: Path())
    bindir: Path = field(default_factory=find_bindir)
    _base: Path | None = None

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [*_as_server_user(), *args], capture_output=True, text=True, timeout=120
        )
        if check and proc.returncode != 0:
            raise PostgresError(f"{args[0]} failed (exit {proc.returncode}): {proc.stderr or proc.stdout}")
        return proc

    def start(self) -> PostgresServer:
        self._base = Path(tempfile.mkdtemp(prefix="clickstream-pg-"))
        self.datadir = self._base / "data"
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self._base, pw.pw_uid, pw.pw_gid)
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres",
            "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8",
        )
        conf = {
            "listen_addresses": f"'{self.host}'",
            "unix_socket_directories": f"'{self._base}'",
            "fsync": "on" if self.fsync else "off",
            "synchronous_commit": "on" if self.fsync else "off",
            "full_page_writes": "on" if self.fsync else "off",
            "shared_buffers": "256MB",
            "max_wal_size": "2GB",
            "max_connections": "100",
            "log_min_messages": "warning",
        }
        if self.preload:
            conf["shared_preload_libraries"] = "'" + ",".join(self.preload) + "'"
        with (self.datadir / "postgresql.conf").open("a") as f:
            f.write("\n# clickstream harness\n")
            f.writelines(f"{k} = {v}\n" for k, v in conf.items())
        last: Exception | None = None
        for _ in range(5):  # a free port can be taken between probe and bind: retry
            self.port = self.port or free_port(self.host)
            proc = self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l",
                str(self._base / "server.log"), "-o", f"-p {self.port}", "-w", "-t", "60",
                "start", check=False,
            )
            if proc.returncode == 0:
                wait_for_port(self.host, self.port, timeout=30)
                return self
            last = PostgresError(f"pg_ctl start failed: {proc.stderr}{self.log_tail()}")
            self.port = 0
        self.stop()
        raise last  # type: ignore[misc]

    def restart(self, mode: str = "immediate") -> None:
        """Restart the server on the same port and data, as a crash or a host reboot would.

        ``immediate`` stops without a checkpoint (crash recovery replays the WAL on start,
        and commits the server had not yet flushed are lost), ``fast`` cleanly. Every open
        session is cut either way; the fault tests restart mid-run to see the ETL survive.
        """
        if mode not in ("immediate", "fast"):
            raise ValueError(f"mode must be immediate or fast, got {mode!r}")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop")
        proc = self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(self._base / "server.log"),
            "-o", f"-p {self.port}", "-w", "-t", "60", "start", check=False)
        if proc.returncode != 0:
            raise PostgresError(f"pg_ctl start after a restart failed: {proc.stderr}{self.log_tail()}")
        wait_for_port(self.host, self.port, timeout=30)

    def log_tail(self, lines: int = 20) -> str:
        path = (self._base or Path("/nonexistent")) / "server.log"
        return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its data directory."""
        if self._base is None:
            return
        if (self.datadir / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(self._base, ignore_errors=True)
        self._base = None

    @property
    def running(self) -> bool:
        return self._base is not None and port_open(self.host, self.port)

    @property
    def base_dir(self) -> Path | None:
        return self._base

    def dsn(self, dbname: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """Provision a database as a host does and return the DSN of its owner.

        The same files the host bootstrap runs as the superuser (``hosts/sql/owner.sql``,
        ``hosts/sql/warehouse-roles.sql``) make the owner role ``<name>_owner`` (LOGIN and
        nothing more), the database it owns, the ``dw_reader`` group and a read-only login
        ``<name>_dash`` (:meth:`reader_dsn`). Everything after that, the migrations first, runs as the owner, so a
        migration that needs more than the owner has fails here as it would on the host.
        """
        if not _IDENT.match(name) or len(name) > 57:
            raise ValueError(f"not a safe database name: {name!r}")
        owner, dash = owner_role(name), reader_role(name)
        for sql, var, role in (("owner.sql", "admin", owner), ("warehouse-roles.sql", "dash", dash)):
            proc = subprocess.run(
                [str(self.bindir / "psql"), "-X", "-q", "-h", self.host, "-p", str(self.port), "-U", "postgres",
                 "-d", "postgres", "-v", f"{var}={role}", "-v", f"db={name}", "-f", str(HOST_SQL / sql)],
                capture_output=True, text=True, timeout=120)
            if proc.returncode != 0:
                raise PostgresError(f"provisioning {name} with hosts/sql/{sql} failed: {proc.stderr.strip()}")
        return self.dsn(name, user=owner)

    def reader_dsn(self, name: str) -> str:
        """DSN of the read-only login that :meth:`create_database` made for ``name``."""
        return self.dsn(name, user=reader_role(name))

    def drop_database(self, name: str) -> None:
        """Drop the database and the roles :meth:`create_database` made for it."""
        if not _IDENT.match(name):
            raise ValueError(f"not a safe database name: {name!r}")
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for role in (owner_role(name), reader_role(name)):
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def reader_role(dbname: str) -> str:
    """The dashboards-like login (member of ``dw_reader`` only) made for ``dbname``."""
    return f"{dbname}_dash"


def owner_role(dbname: str) -> str:
    """The owner role :meth:`PostgresServer.create_database` makes for ``dbname``."""
    return f"{dbname}_owner"


@contextlib.contextmanager
def postgres_server(*, fsync: bool = False, port: int = 0, preload: tuple[str, ...] = ()) -> Iterator[PostgresServer]:
    """Start a server, yield it, always stop and remove it."""
    server = PostgresServer(fsync=fsync, port=port, preload=preload).start()
    try:
        yield server
    finally:
        server.stop()
