"""sql/oltp applied by yoyo to a real PostgreSQL: the catalogue is seeded and the constraints
refuse hostile or broken writes (what the shop's application tier cannot be trusted to check).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from clickstream import REPO_ROOT
from clickstream.warehouse import migrate

pytestmark = pytest.mark.e2e

OLTP = REPO_ROOT / "sql" / "oltp"
PRODUCT = "INSERT INTO shop.products (sku, name, brand, category, price) VALUES "


@pytest.fixture(scope="module")
def db(pg_dsn: str) -> str:
    applied = migrate(pg_dsn, OLTP)
    assert applied == ["0001_oltp_schema", "0002_oltp_seed_catalogue"]
    return pg_dsn


@pytest.fixture
def conn(db: str) -> Iterator[psycopg.Connection]:
    """A connection whose work is rolled back, so each test starts from the seeded state."""
    with psycopg.connect(db) as c:
        yield c
        c.rollback()


def test_migrations_are_idempotent(db: str) -> None:
    assert migrate(db, OLTP) == []


def test_seed_catalogue_has_computer_products(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        "SELECT category, count(*), min(price) FROM shop.products GROUP BY category ORDER BY 1"
    ).fetchall()
    counts = {cat: n for cat, n, _ in rows}
    assert set(counts) == {"accessories", "laptops", "monitors"}
    assert 28 <= sum(counts.values()) <= 40
    assert all(n >= 8 for n in counts.values())
    assert all(p > 0 for _, _, p in rows)
    brands = conn.execute("SELECT count(DISTINCT brand) FROM shop.products").fetchone()[0]
    assert brands >= 10


def _customer(conn: psycopg.Connection) -> int:
    return conn.execute(
        "INSERT INTO shop.customers (email, full_name) VALUES ('ada@example.com', 'Ada') RETURNING customer_id"
    ).fetchone()[0]


def test_a_valid_order_is_accepted_and_totals_add_up(conn: psycopg.Connection) -> None:
    cid = _customer(conn)
    oid = conn.execute(
        "INSERT INTO shop.orders (transaction_id, customer_id) VALUES ('T-1', %s) RETURNING order_id", (cid,)
    ).fetchone()[0]
    conn.execute(
        """INSERT INTO shop.order_items (order_id, line_no, product_id, quantity, unit_price)
           SELECT %s, row_number() OVER (ORDER BY sku), product_id, 2, price FROM shop.products
           WHERE sku IN ('LAP-XPS13-2024', 'ACC-MX-MASTER3S')""",
        (oid,),
    )
    total, items = conn.execute("SELECT total, items FROM shop.order_totals WHERE order_id = %s", (oid,)).fetchone()
    assert (float(total), items) == (2 * 1299.00 + 2 * 109.00, 4)


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        (PRODUCT + "('NEG-1', 'x', 'y', 'laptops', -1)", ()),
        (PRODUCT + "('OK-1', 'x', 'y', 'toasters', 1)", ()),
        (PRODUCT + "('bad sku; --', 'x', 'y', 'laptops', 1)", ()),
        (PRODUCT + "('LAP-XPS13-2024', 'dup', 'y', 'laptops', 1)", ()),
        (PRODUCT + "('OK-2', '  ', 'y', 'laptops', 1)", ()),
        ("INSERT INTO shop.customers (email, full_name) VALUES ('not-an-email', 'x')", ()),
        ("INSERT INTO shop.customers (email, full_name) VALUES (%s, 'x')", ("a@b.co' OR '1'='1",)),
        ("INSERT INTO shop.orders (transaction_id, customer_id) VALUES ('T-x', 999999)", ()),
        ("INSERT INTO shop.orders (transaction_id, customer_id, status) VALUES ('T-y', 1, 'stolen')", ()),
    ],
    ids=["negative-price", "unknown-category", "hostile-sku", "duplicate-sku", "blank-name", "bad-email",
         "injection-email", "orphan-order", "unknown-status"],
)
def test_hostile_rows_are_refused(conn: psycopg.Connection, sql: str, params: tuple) -> None:
    with pytest.raises(psycopg.errors.IntegrityError):
        conn.execute(sql, params)


@pytest.mark.parametrize("quantity", [0, -3, 1001], ids=["zero", "negative", "absurd"])
def test_bad_quantities_are_refused(conn: psycopg.Connection, quantity: int) -> None:
    cid = _customer(conn)
    oid = conn.execute(
        "INSERT INTO shop.orders (transaction_id, customer_id) VALUES ('T-q', %s) RETURNING order_id", (cid,)
    ).fetchone()[0]
    pid = conn.execute("SELECT product_id FROM shop.products WHERE sku = 'MON-U2724D'").fetchone()[0]
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO shop.order_items (order_id, line_no, product_id, quantity, unit_price)"
            " VALUES (%s, 1, %s, %s, 1)",
            (oid, pid, quantity),
        )


def test_emails_are_unique_regardless_of_case(conn: psycopg.Connection) -> None:
    _customer(conn)
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO shop.customers (email, full_name) VALUES ('ADA@Example.com', 'Ada again')")
