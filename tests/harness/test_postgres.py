"""The PostgreSQL fixture is a real server: it starts, answers, isolates modules, cleans up."""

from __future__ import annotations

import psycopg
import pytest

from clickstream.net import port_open
from clickstream.postgres import PostgresServer, postgres_server

pytestmark = pytest.mark.harness


def test_the_session_server_is_postgresql_15(pg_server: PostgresServer) -> None:
    with psycopg.connect(pg_server.dsn()) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()[0]
    assert int(version) // 10000 == 15


def test_each_module_gets_its_own_empty_database(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        name = conn.execute("SELECT current_database()").fetchone()[0]
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]
    assert name.startswith("t_test_postgres_")
    assert tables == 0


def test_a_server_is_stopped_and_its_files_removed() -> None:
    with postgres_server() as server:
        base, port = server.base_dir, server.port
        assert base is not None and base.exists()
        assert port_open("127.0.0.1", port)
    assert not port_open("127.0.0.1", port)
    assert not base.exists()


def test_database_names_are_checked_before_reaching_sql(pg_server: PostgresServer) -> None:
    with pytest.raises(ValueError, match="not a safe database name"):
        pg_server.create_database('x"; DROP DATABASE postgres; --')


def test_a_restart_cuts_sessions_and_keeps_committed_data() -> None:
    """What the ETL fault tests do mid-run: an immediate (crash-like) restart, same port."""
    with postgres_server() as server:
        with psycopg.connect(server.dsn(), autocommit=True) as c:
            c.execute("CREATE TABLE kept (n int)")
            c.execute("INSERT INTO kept VALUES (1)")
            c.execute("CHECKPOINT")
        held = psycopg.connect(server.dsn())
        port = server.port
        server.restart("immediate")
        assert server.port == port and port_open("127.0.0.1", port)
        with pytest.raises(psycopg.OperationalError):
            held.execute("SELECT 1")
        held.close()
        with psycopg.connect(server.dsn()) as c:
            assert c.execute("SELECT n FROM kept").fetchall() == [(1,)]
        with pytest.raises(ValueError, match="immediate or fast"):
            server.restart("smart")
