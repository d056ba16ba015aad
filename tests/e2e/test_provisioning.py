"""A database is provisioned as the host bootstrap does it, and migrated as its owner.

The owner may not create roles, so a migration that needs one fails with a message that says
how the host provisions it, rather than with PostgreSQL's bare permission error.
"""

from __future__ import annotations

import subprocess

import psycopg
import pytest

from clickstream.postgres import HOST_SQL, postgres_server
from clickstream.warehouse import MigrationError, migrate

pytestmark = pytest.mark.e2e


def _psql(server, sql: str, **variables: str) -> None:
    args = [a for k, v in variables.items() for a in ("-v", f"{k}={v}")]
    subprocess.run([str(server.bindir / "psql"), "-X", "-q", "-h", server.host, "-p", str(server.port),
                    "-U", "postgres", "-d", "postgres", *args, "-f", str(HOST_SQL / sql)],
                   check=True, capture_output=True, timeout=60)


def test_the_owner_holds_login_and_nothing_more_even_after_a_rerun(pg_server) -> None:
    dsn = pg_server.create_database("prov_rerun")
    try:
        with psycopg.connect(pg_server.dsn(), autocommit=True) as c:
            c.execute("ALTER ROLE prov_rerun_owner CREATEROLE CREATEDB")  # drift to be undone
        _psql(pg_server, "owner.sql", admin="prov_rerun_owner", db="prov_rerun")
        with psycopg.connect(dsn) as c:
            row = c.execute("SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
                            "FROM pg_roles WHERE rolname = current_user").fetchone()
            owner = c.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'prov_rerun'").fetchone()
        assert row == (True, False, False, False, False, False)
        assert owner == ("prov_rerun_owner",)
    finally:
        pg_server.drop_database("prov_rerun")


def test_a_migration_as_the_owner_creates_everything_owned_by_it(pg_server) -> None:
    dsn = pg_server.create_database("prov_owned")
    try:
        assert migrate(dsn)
        with psycopg.connect(dsn) as c:
            owners = c.execute(
                "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = 'dw'").fetchall()
        assert owners == [("prov_owned_owner",)]
    finally:
        pg_server.drop_database("prov_owned")


def test_without_the_reader_role_the_migration_says_how_to_provision_it() -> None:
    with postgres_server() as server:  # a cluster of its own: dw_reader is cluster-wide
        _psql(server, "owner.sql", admin="lone_owner", db="lone")
        with pytest.raises(MigrationError, match=r"0005_dw_reader_grants\.sql: role dw_reader does not exist") as info:
            migrate(server.dsn("lone", user="lone_owner"))
        assert "hosts/sql/warehouse-roles.sql" in str(info.value)
        assert isinstance(info.value.__cause__, psycopg.errors.RaiseException)
        with psycopg.connect(server.dsn("lone", user="lone_owner")) as c:
            applied = [r[0] for r in c.execute("SELECT migration_id FROM _yoyo_migration ORDER BY 1")]
            schema = c.execute("SELECT to_regnamespace('dw')").fetchone()[0]
        # One transaction: the migrations before the failing one are not left half-applied.
        assert applied == [] and schema is None
