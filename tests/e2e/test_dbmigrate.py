"""clickstream/dbmigrate.py: migrations once, definitions as they are now, one transaction.

Every test works on a copy of a SQL folder in tmp_path (so it may change a definition, add a
migration or break a file) and a database of its own, migrated as its owner as on a host.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from clickstream import REPO_ROOT, dbmigrate
from clickstream.dbmigrate import MigrationError, migrate

pytestmark = pytest.mark.e2e

FOLDERS = {"dw": REPO_ROOT / "sql" / "dw", "oltp": REPO_ROOT / "sql" / "oltp"}
# Every function, view and trigger of the schemas the owner owns, with what identifies its
# current definition: a rewritten catalog row has a new ctid.
CATALOG = dbmigrate._OBJECTS


@pytest.fixture
def db(pg_server) -> Iterator[str]:
    name = f"mig_{uuid.uuid4().hex[:10]}"
    dsn = pg_server.create_database(name)
    yield dsn
    pg_server.drop_database(name)


def copy(folder: Path, tmp_path: Path) -> Path:
    dest = tmp_path / folder.name
    shutil.copytree(folder, dest)
    return dest


def catalog(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn) as c:
        return sorted(c.execute(CATALOG).fetchall())


def one(dsn: str, sql: str, *params):
    with psycopg.connect(dsn) as c:
        return c.execute(sql, params).fetchone()[0]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def test_a_second_run_is_a_no_op(db: str) -> None:
    assert migrate(db, FOLDERS["dw"])
    before = catalog(db)
    log = one(db, "SELECT count(*) FROM _yoyo_log")
    assert migrate(db, FOLDERS["dw"]) == []
    assert catalog(db) == before  # not one function, view or trigger re-created
    assert one(db, "SELECT count(*) FROM _yoyo_log") == log
    assert one(db, "SELECT count(*) FROM _sql_definitions") == 1


def test_a_changed_definition_reaches_the_database_without_a_migration(db: str, tmp_path: Path) -> None:
    sql = copy(FOLDERS["dw"], tmp_path)
    migrate(db, sql)
    defs = sql / "definitions"
    # A function body, and a view that loses a column (CREATE OR REPLACE VIEW alone cannot).
    edit(defs / "functions" / "dw.ensure_event_partitions.sql", "36 months", "24 months")
    edit(defs / "views" / "dw.v_load_health_daily.sql", "rejected,\n       last_loaded_at", "rejected")
    assert migrate(db, sql) == []
    assert "24 months" in one(db, "SELECT prosrc FROM pg_proc WHERE oid = 'dw.ensure_event_partitions'::regproc")
    columns = one(db, "SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute "
                      "WHERE attrelid = 'dw.v_load_health_daily'::regclass AND attnum > 0")
    assert columns[-1] == "rejected" and "last_loaded_at" not in columns
    # The re-created view keeps its grant (it is in the view's file), and every trigger is back.
    assert one(db, "SELECT has_table_privilege('dw_reader', 'dw.v_load_health_daily', 'SELECT')")
    assert one(db, "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal") == 4
    assert one(db, "SELECT count(*) FROM _sql_definitions") == 2


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_every_function_view_and_trigger_comes_from_exactly_one_definition_file(db: str, name: str) -> None:
    folder = FOLDERS[name]
    migrate(db, folder)
    in_db = sorted((kind, ident) for kind, _, _, ident, _ in catalog(db))
    files = sorted((d.kind, d.name) for d in dbmigrate.read_definitions(folder))
    assert in_db == files
    assert len(set(files)) == len(files)
    # And no migration defines one (it would be dropped or replaced by the definitions).
    made_in_migrations = [
        (p.name, m.group(0)) for p in sorted(folder.glob("*.sql"))
        for m in re.finditer(r"(?im)^\s*CREATE\s+(OR\s+REPLACE\s+)?(FUNCTION|PROCEDURE|VIEW|TRIGGER|RULE)\b",
                             p.read_text())]
    assert made_in_migrations == []


def test_a_file_that_makes_another_object_is_refused_and_nothing_is_applied(db: str, tmp_path: Path) -> None:
    sql = copy(FOLDERS["dw"], tmp_path)
    target = sql / "definitions" / "functions" / "dw.load_daily_truncate.sql"
    target.write_text(target.read_text() + "\nCREATE FUNCTION dw.sneaky() RETURNS int LANGUAGE sql AS 'SELECT 1';\n")
    with pytest.raises(MigrationError, match=r"dw\.load_daily_truncate\.sql: .*creates or changes function dw\.sneaky"):
        migrate(db, sql)
    assert one(db, "SELECT to_regnamespace('dw')") is None  # the migrations went back with it


def test_a_broken_definition_names_its_file_and_line_and_leaves_the_previous_state(db: str, tmp_path: Path) -> None:
    sql = copy(FOLDERS["dw"], tmp_path)
    migrate(db, sql)
    before = catalog(db)
    defs = sql / "definitions"
    # An earlier file that would apply, a new migration, then a file that fails.
    edit(defs / "functions" / "dw.ensure_event_partitions.sql", "36 months", "24 months")
    (sql / "0006_dw_more.sql").write_text("-- depends: 0005_dw_reader_grants\nCREATE TABLE dw.more (x int);\n")
    broken = defs / "views" / "dw.v_freshness.sql"
    edit(broken, "(SELECT max(hour) FROM dw.hourly_traffic)", "(SELECT max(hour) FORM dw.hourly_traffic)")
    line = next(n for n, text in enumerate(broken.read_text().splitlines(), 1) if "FORM" in text)
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "clickstream" / "dbmigrate.py"), "--database", db, str(sql)],
                          capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-2:] == [
        f'dbmigrate: {broken} (line {line}): syntax error at or near "dw"',
        "dbmigrate: rolled back: nothing of this run was committed"], proc.stderr
    assert catalog(db) == before
    assert "36 months" in one(db, "SELECT prosrc FROM pg_proc WHERE oid = 'dw.ensure_event_partitions'::regproc")
    assert one(db, "SELECT to_regclass('dw.more')") is None
    assert one(db, "SELECT count(*) FROM _yoyo_migration WHERE migration_id = '0006_dw_more'") == 0
    assert one(db, "SELECT count(*) FROM _sql_definitions") == 1


def test_a_definition_removed_from_the_folder_is_dropped(db: str, tmp_path: Path) -> None:
    sql = copy(FOLDERS["dw"], tmp_path)
    migrate(db, sql)
    defs = sql / "definitions"
    gone = ["triggers/dw.loaded_files.load_daily_trunc.sql", "functions/dw.load_daily_truncate.sql",
            "views/dw.v_hour_of_week.sql"]
    for rel in gone:
        (defs / rel).unlink()
    manifest = defs / "manifest.txt"
    manifest.write_text("".join(ln for ln in manifest.read_text().splitlines(keepends=True) if ln.strip() not in gone))
    assert migrate(db, sql) == []
    assert one(db, "SELECT to_regproc('dw.load_daily_truncate')") is None
    assert one(db, "SELECT to_regclass('dw.v_hour_of_week')") is None
    assert one(db, "SELECT count(*) FROM pg_trigger WHERE tgname = 'load_daily_trunc'") == 0
    assert one(db, "SELECT count(*) FROM pg_trigger WHERE tgname = 'load_daily_ins'") == 1


def test_the_manifest_and_the_files_must_agree(tmp_path: Path) -> None:
    sql = copy(FOLDERS["dw"], tmp_path)
    (sql / "definitions" / "views" / "dw.v_extra.sql").write_text("CREATE VIEW dw.v_extra AS SELECT 1;\n")
    with pytest.raises(MigrationError, match=r"present but not listed \['views/dw.v_extra.sql'\]"):
        dbmigrate.read_definitions(sql)
    (sql / "definitions" / "views" / "dw.v_extra.sql").unlink()
    (sql / "definitions" / "views" / "dw.v_freshness.sql").unlink()
    with pytest.raises(MigrationError, match=r"listed but missing \['views/dw.v_freshness.sql'\]"):
        dbmigrate.read_definitions(sql)


def test_a_superuser_is_refused(pg_server, db: str) -> None:
    dbname = psycopg.conninfo.conninfo_to_dict(db)["dbname"]
    with pytest.raises(MigrationError, match="superuser"):
        migrate(pg_server.dsn(dbname), FOLDERS["dw"])
    assert one(db, "SELECT to_regnamespace('dw')") is None


def test_the_runner_needs_only_what_the_host_venv_has() -> None:
    """The host runs this file with its venv's Python: the standard library, yoyo, psycopg."""
    tree = ast.parse((REPO_ROOT / "clickstream" / "dbmigrate.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    assert imported - sys.stdlib_module_names == {"yoyo", "psycopg"}


def test_a_migration_may_change_a_column_that_a_view_selects(db: str, tmp_path: Path) -> None:
    """PostgreSQL refuses to change the type of a column a view uses; the views are dropped
    before the migrations and re-created after them, in the same transaction."""
    sql = copy(FOLDERS["dw"], tmp_path)
    migrate(db, sql)
    (sql / "0006_dw_wider_reject_counts.sql").write_text(
        "-- depends: 0005_dw_reader_grants\nALTER TABLE dw.rejected_events ALTER COLUMN events TYPE bigint;\n")
    assert migrate(db, sql) == ["0006_dw_wider_reject_counts"]
    assert one(db, "SELECT atttypid::regtype::text FROM pg_attribute "
                   "WHERE attrelid = 'dw.rejected_events'::regclass AND attname = 'events'") == "bigint"
    assert one(db, "SELECT atttypid::regtype::text FROM pg_attribute "
                   "WHERE attrelid = 'dw.v_rejects_by_reason'::regclass AND attname = 'rejected'") == "numeric"
    assert one(db, "SELECT has_table_privilege('dw_reader', 'dw.v_rejects_by_reason', 'SELECT')")
