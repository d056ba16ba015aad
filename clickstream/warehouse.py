"""Apply the warehouse migrations (``sql/dw``) to a PostgreSQL database with yoyo.

Tests, the demo and the benchmark all build their warehouse through :func:`migrate`, so
they exercise exactly the SQL a deployment applies. yoyo records applied migrations in the
database (``_yoyo_migration``), which makes :func:`migrate` safe to call again.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from clickstream import REPO_ROOT

MIGRATIONS_DIR = REPO_ROOT / "sql" / "dw"


def yoyo_uri(dsn: str) -> str:
    """Turn a libpq URL (``postgresql://...``) into yoyo's psycopg 3 backend URL."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgres", "postgresql", "postgresql+psycopg"):
        raise ValueError(f"not a PostgreSQL URL: {parts.scheme!r} (expected postgresql://)")
    return urlunsplit(("postgresql+psycopg", *parts[1:]))


def migrate(dsn: str, migrations_dir: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every pending migration in order; return the ids applied by this call."""
    from yoyo import get_backend, read_migrations

    backend = get_backend(yoyo_uri(dsn))
    migrations = read_migrations(str(migrations_dir))
    try:
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
            return [m.id for m in pending]
    finally:
        backend.connection.close()
