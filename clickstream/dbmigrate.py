"""Apply one database's SQL folder (``sql/dw``, ``sql/oltp``): its pending migrations, then its
current definitions, in ONE transaction.

A folder holds migrations (``NNNN_name.sql``, schema changes applied once, recorded by yoyo
in ``_yoyo_migration``) and ``definitions/`` (functions, triggers and views as they are now,
one object per file, applied in the order of ``definitions/manifest.txt``); sql/README.md says
what goes where. :func:`migrate` takes yoyo's lock and then, in a single transaction:

1. drops every view of the schemas the migrating role owns (so a migration may change any
   column), applies the pending migrations through yoyo's own steps and records them;
2. drops every trigger of those schemas, then runs each
   definition file in manifest order, checking that each creates exactly the one object its
   file name names (``functions/<schema>.<name>.sql``, ``views/<schema>.<name>.sql``,
   ``triggers/<schema>.<table>.<trigger>.sql``), so no object can come from two files;
3. drops the functions that no file defines any more, and records the definitions' digest
   in ``_sql_definitions``.

Nothing is committed unless all of it succeeds: a failing migration or definition leaves
the database exactly as it was, and the error names the file (and line). When no migration
is pending and the digest equals the recorded one, nothing is done at all, so a second run is
a no-op that takes no lock on the warehouse's tables.

Why not yoyo's post-apply hooks (``post-apply*.sql`` in the migrations folder): yoyo 9 runs
them only when at least one migration is pending (``apply_migrations`` returns early
otherwise), so a changed definition with no new migration would never reach a host's
database; and each hook runs in a transaction of its own, after the migrations committed.

This file is self-contained (standard library, yoyo and psycopg only): the host bundle ships
it as ``lib/dbmigrate.py`` and the bootstrap runs it with the host venv's Python
(``python dbmigrate.py --database URL FOLDER``), so the harness, the demo and the hosts apply
the SQL through the same code.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger("dbmigrate")

MANIFEST = "manifest.txt"
STATE_TABLE = "_sql_definitions"
_KINDS = {"functions": "function", "triggers": "trigger", "views": "view"}
_PART = r"[a-z_][a-z0-9_]*"
_NAME = {"function": re.compile(rf"^{_PART}\.{_PART}$"), "view": re.compile(rf"^{_PART}\.{_PART}$"),
         "trigger": re.compile(rf"^{_PART}\.{_PART}\.{_PART}$")}

# Functions, views and triggers of the schemas the current role owns (system schemas and
# extension members excluded): what definitions/ manages. ctid changes whenever the catalog
# row is rewritten (CREATE OR REPLACE, GRANT), which is how a file's objects are found.
_OBJECTS = """
WITH owned AS (
    SELECT oid, nspname FROM pg_namespace
     WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
       AND nspname !~ '^pg_' AND nspname <> 'information_schema')
SELECT 'function', p.oid::bigint, p.ctid::text, o.nspname || '.' || p.proname, p.oid::regprocedure::text
  FROM pg_proc p JOIN owned o ON o.oid = p.pronamespace
 WHERE p.prokind IN ('f', 'p')
   AND NOT EXISTS (SELECT FROM pg_depend d
                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'view', c.oid::bigint, c.ctid::text, o.nspname || '.' || c.relname, c.oid::regclass::text
  FROM pg_class c JOIN owned o ON o.oid = c.relnamespace
 WHERE c.relkind = 'v'
   AND NOT EXISTS (SELECT FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
UNION ALL
SELECT 'trigger', t.oid::bigint, t.ctid::text, o.nspname || '.' || c.relname || '.' || t.tgname,
       format('%I ON %s', t.tgname, c.oid::regclass)
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN owned o ON o.oid = c.relnamespace
 WHERE NOT t.tgisinternal AND t.tgparentid = 0
"""


class MigrationError(RuntimeError):
    """The SQL folder could not be applied; the database is as it was before the call."""


@dataclass(frozen=True)
class Definition:
    """One definition file: the object it defines (from its path) and its SQL."""

    path: str  # relative to definitions/, as the manifest lists it
    kind: str  # function, trigger or view
    name: str  # schema.name, or schema.table.trigger
    sql: str


@dataclass(frozen=True)
class _Object:
    kind: str
    oid: int
    ctid: str
    name: str
    ref: str  # what DROP takes: a regprocedure, a regclass, or "trigger ON table"


def yoyo_uri(dsn: str) -> str:
    """Turn a libpq URL (``postgresql://...``) into yoyo's psycopg 3 backend URL."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgres", "postgresql", "postgresql+psycopg"):
        raise ValueError(f"not a PostgreSQL URL: {parts.scheme!r} (expected postgresql://)")
    return urlunsplit(("postgresql+psycopg", *parts[1:]))


def read_definitions(folder: Path) -> list[Definition]:
    """The definitions of ``folder`` (``folder/definitions``) in manifest order, validated:
    every file listed once and existing, every ``.sql`` file listed, names as the layout says."""
    root = folder / "definitions"
    if not root.is_dir():
        return []
    manifest = root / MANIFEST
    if not manifest.is_file():
        raise MigrationError(f"{root} has no {MANIFEST}: list its files in the order to apply them")
    listed = [ln.strip() for ln in manifest.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    dupes = sorted({p for p in listed if listed.count(p) > 1})
    if dupes:
        raise MigrationError(f"{manifest}: listed more than once: {dupes}")
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*.sql")}
    missing, unlisted = sorted(set(listed) - on_disk), sorted(on_disk - set(listed))
    if missing or unlisted:
        raise MigrationError(f"{manifest} and the files below it differ: listed but missing {missing}, "
                             f"present but not listed {unlisted}")
    defs = []
    for rel in listed:
        folder_name, _, file_name = rel.partition("/")
        kind, name = _KINDS.get(folder_name), file_name.removesuffix(".sql")
        if kind is None or "/" in file_name or not _NAME[kind].match(name):
            raise MigrationError(
                f"{root / rel}: a definition lives at functions/<schema>.<name>.sql, views/<schema>.<name>.sql "
                f"or triggers/<schema>.<table>.<trigger>.sql (lower-case names)")
        defs.append(Definition(rel, kind, name, (root / rel).read_text()))
    return defs


def digest(definitions: list[Definition]) -> str:
    """sha256 of the definitions in order (paths and contents): what a database last got."""
    h = hashlib.sha256()
    for d in definitions:
        h.update(d.path.encode() + b"\0" + d.sql.encode() + b"\0")
    return h.hexdigest()


def _objects(conn) -> dict[tuple[str, int], _Object]:
    return {(r[0], r[1]): _Object(*r) for r in conn.execute(_OBJECTS).fetchall()}


def _position(exc: Exception, sql: str) -> str:
    pos = getattr(getattr(exc, "diag", None), "statement_position", None)
    return f" (line {sql[: int(pos)].count(chr(10)) + 1})" if pos and pos.isdigit() else ""


def _describe(exc: Exception) -> str:
    diag = getattr(exc, "diag", None)
    text = getattr(diag, "message_primary", None) or str(exc).strip().splitlines()[0]
    for extra in ("message_detail", "message_hint"):
        if getattr(diag, extra, None):
            text += f"; {getattr(diag, extra)}"
    return text


def drop_views(conn) -> None:
    """Drop every view the definitions manage, in one statement (so views that select from
    each other go together): before the migrations, which may then change any column a view
    selects, and again before the definitions re-create them."""
    views = [o.ref for o in _objects(conn).values() if o.kind == "view"]
    if views:
        conn.execute(f"DROP VIEW {', '.join(views)}")


def apply_definitions(conn, definitions: list[Definition], where: Path) -> list[str]:
    """Re-create ``definitions`` on ``conn`` inside the caller's transaction; return the
    functions dropped because no file defines them any more."""
    import psycopg

    drop_views(conn)
    for o in _objects(conn).values():
        if o.kind == "trigger":
            conn.execute(f"DROP TRIGGER {o.ref}")
    claimed: dict[int, str] = {}
    seen = _objects(conn)
    for d in definitions:
        try:
            conn.execute(d.sql)
        except psycopg.Error as exc:
            raise MigrationError(f"{where / d.path}{_position(exc, d.sql)}: {_describe(exc)}") from exc
        now = _objects(conn)
        touched = [o for k, o in now.items() if k not in seen or seen[k].ctid != o.ctid]
        seen = now
        wrong = sorted({f"{o.kind} {o.name}" for o in touched if (o.kind, o.name) != (d.kind, d.name)})
        if wrong or not touched:
            made = ", ".join(wrong) if wrong else "nothing"
            raise MigrationError(f"{where / d.path}: a definition file creates exactly the {d.kind} {d.name} "
                                 f"its name says; this one creates or changes {made}")
        if len(touched) > 1:
            raise MigrationError(f"{where / d.path}: creates {len(touched)} {d.kind}s named {d.name} "
                                 f"(overloads); one object per file")
        claimed[touched[0].oid] = d.path
    dropped = []
    for o in seen.values():
        if o.oid not in claimed:  # views and triggers were dropped above: only functions remain
            try:
                conn.execute(f"DROP FUNCTION {o.ref}")
            except psycopg.Error as exc:
                raise MigrationError(f"{o.kind} {o.ref} is defined by no file in {where}, and dropping it "
                                     f"failed: {_describe(exc)}") from exc
            dropped.append(o.ref)
    return dropped


def migrate(dsn: str, folder: Path) -> list[str]:
    """Apply ``folder``'s pending migrations and its definitions in one transaction, as the
    role of ``dsn`` (the database's owner, never a superuser); return the migration ids applied."""
    from yoyo import get_backend, read_migrations

    folder = Path(folder)
    migrations = read_migrations(str(folder))
    if migrations.post_apply:
        raise MigrationError(f"{folder}: post-apply hooks are not used here; put functions, triggers "
                             f"and views in {folder / 'definitions'} (sql/README.md)")
    definitions = read_definitions(folder)
    wanted = digest(definitions)
    backend = get_backend(yoyo_uri(dsn))
    conn = backend.connection
    try:
        if conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
            raise MigrationError("refusing to migrate as a superuser: connect as the database's owner, "
                                 "so that everything made is owned by it and needs no more than it has")
        with backend.lock():
            pending = backend.to_apply(migrations)
            for m in pending:
                m.load()
                if not m.use_transactions:
                    raise MigrationError(f"{m.path}: every migration runs in the one transaction of a "
                                         f"migration run; 'transactional: false' is not supported")
            with backend.transaction():
                backend.execute(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (id bigint GENERATED ALWAYS AS IDENTITY "
                                "PRIMARY KEY, digest text NOT NULL, migrations text[] NOT NULL, "
                                "applied_at timestamptz NOT NULL DEFAULT now())")
            last = conn.execute(f"SELECT digest FROM {STATE_TABLE} ORDER BY id DESC LIMIT 1").fetchone()
            if not pending and last and last[0] == wanted:
                log.info("%s: no pending migration, definitions unchanged (%s)", folder, wanted[:12])
                return []
            with backend.transaction():
                drop_views(conn)
                for m in pending:
                    log.info("%s: applying %s", folder, m.id)
                    try:
                        m.process_steps(backend, "apply")
                    except Exception as exc:
                        if isinstance(exc, MigrationError) or not hasattr(exc, "diag"):
                            raise
                        raise MigrationError(f"{m.path}: {_describe(exc)}") from exc
                    backend.log_migration(m, "apply")
                    backend.mark_one(m, log=False)
                dropped = apply_definitions(conn, definitions, folder / "definitions")
                conn.execute(f"INSERT INTO {STATE_TABLE} (digest, migrations) VALUES (%s, %s)",
                             (wanted, [m.id for m in pending]))
            log.info("%s: %d migration(s) applied, %d definition(s) applied (%s)%s", folder, len(pending),
                     len(definitions), wanted[:12], f", dropped {dropped}" if dropped else "")
            return [m.id for m in pending]
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True,
                        help="libpq URL of the database, as its owner (the password from PGPASSWORD)")
    parser.add_argument("folder", type=Path, help="the SQL folder: migrations, and definitions/ beside them")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("DBMIGRATE_LOG", "INFO"), format="%(name)s: %(message)s")
    try:
        applied = migrate(args.database, args.folder)
    except MigrationError as exc:
        print(f"dbmigrate: {exc}\ndbmigrate: rolled back: nothing of this run was committed", file=sys.stderr)
        return 1
    print(f"applied {len(applied)} migration(s){': ' + ' '.join(applied) if applied else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
