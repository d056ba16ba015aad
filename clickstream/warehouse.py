"""Apply a database's SQL folder (``sql/dw`` by default) the way every deployment does.

Tests, the demo and the benchmark all build their warehouse through :func:`migrate`, so they
exercise exactly the SQL and the runner a host applies (:mod:`clickstream.dbmigrate`, which
the host bundle ships): the pending migrations and the current definitions, in one
transaction, as the database's owner. Calling it again is safe: yoyo records applied
migrations (``_yoyo_migration``) and the runner the definitions' digest (``_sql_definitions``).
"""

from __future__ import annotations

from pathlib import Path

from clickstream import REPO_ROOT
from clickstream.dbmigrate import MigrationError, yoyo_uri
from clickstream.dbmigrate import migrate as _migrate

MIGRATIONS_DIR = REPO_ROOT / "sql" / "dw"
OLTP_DIR = REPO_ROOT / "sql" / "oltp"

__all__ = ["MIGRATIONS_DIR", "OLTP_DIR", "MigrationError", "migrate", "yoyo_uri"]


def migrate(dsn: str, migrations_dir: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply ``migrations_dir`` (its migrations and ``definitions/``); return the migration ids
    this call applied."""
    return _migrate(dsn, migrations_dir)
