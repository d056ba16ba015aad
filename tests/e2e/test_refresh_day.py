"""dw.refresh_day and the committed reference both give the rollups worked out by hand.

A small warehouse day written row by row: a desktop session that browses, adds to cart and
buys; a mobile session that views, adds and removes an item without a category and buys the
next day; a bot that browses. The expected rows below are counted from that input (the
comments say which events make each figure), not taken from either implementation, and each
implementation runs in a transaction of its own that is rolled back.

The same input also goes into a warehouse built by the SQL as it was before
0006_dw_events_day_index (its migrations and its definitions, from git) and refreshed there,
which is then upgraded: nothing is lost, the rollups stay, and a refresh after the upgrade
gives the same rows.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from clickstream.sqlhistory import previous_head
from clickstream.warehouse import MIGRATIONS_DIR, migrate

pytestmark = pytest.mark.e2e

REFERENCE = Path(__file__).parent / "reference" / "refresh_day_reference.sql"
UPGRADE = "0006_dw_events_day_index"
D = date(2024, 3, 10)
NEXT = D + timedelta(days=1)


def at(day: date, hh: int, mm: int) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC)


LAPTOP = {"item_id": "P1", "item_category": "laptops"}
# (time, name, session, anonymous id, user, device, bot, items)
EVENTS = [
    (at(D, 10, 5), "page_view", "s1", "a1", "u1", "desktop", False, None),                       # e1
    (at(D, 10, 6), "view_item_list", "s1", "a1", "u1", "desktop", False,
     [LAPTOP, {"item_id": "P2", "item_category": "monitors"}]),                                   # e2
    (at(D, 10, 7), "view_item", "s1", "a1", "u1", "desktop", False, [LAPTOP]),                    # e3
    (at(D, 10, 8), "add_to_cart", "s1", "a1", "u1", "desktop", False, [{**LAPTOP, "quantity": 2}]),  # e4
    (at(D, 10, 20), "begin_checkout", "s1", "a1", "u1", "desktop", False, [{**LAPTOP, "quantity": 2}]),  # e5
    (at(D, 10, 25), "purchase", "s1", "a1", "u1", "desktop", False,
     [{**LAPTOP, "price": 1000, "quantity": 2}]),                                                 # e6
    (at(D, 11, 0), "page_view", "s2", "a2", None, "mobile", False, None),                         # e7
    (at(D, 11, 1), "view_item", "s2", "a2", None, "mobile", False, [{"item_id": "P2"}]),          # e8
    (at(D, 11, 2), "add_to_cart", "s2", "a2", None, "mobile", False, [{"item_id": "P2"}]),        # e9
    (at(D, 11, 3), "remove_from_cart", "s2", "a2", None, "mobile", False, [{"item_id": "P2"}]),   # e10
    (at(D, 11, 30), "page_view", "s3", "a3", None, "desktop", True, None),                        # e11 bot
    (at(D, 11, 31), "view_item", "s3", "a3", None, "desktop", True, [LAPTOP]),                    # e12 bot
    (at(NEXT, 0, 10), "page_view", "s1", "a1", "u1", "desktop", False, None),                     # e13
    (at(NEXT, 1, 0), "purchase", "s2", "a2", None, "mobile", False,
     [{"item_id": "P2", "price": 50, "quantity": 1}]),                                            # e14
]
# (transaction, time, session, anonymous id, user, value, device, items)
PURCHASES = [
    ("T1", at(D, 10, 25), "s1", "a1", "u1", 2000, "desktop", [{**LAPTOP, "price": 1000, "quantity": 2}]),
    ("T2", at(NEXT, 1, 0), "s2", "a2", None, 50, "mobile", [{"item_id": "P2", "price": 50, "quantity": 1}]),
]
# (session, started, device, bot, referrer domain, utm source, medium, campaign)
SESSIONS = [
    ("s1", at(D, 10, 5), "desktop", False, "news.example", "newsletter", "email", "spring"),
    ("s2", at(D, 11, 0), "mobile", False, None, None, None, None),
    ("s3", at(D, 11, 30), "desktop", True, None, None, None, None),
]

EXPECTED = {
    # day, events (e1-e12), bot events (e11, e12), page views (e1, e7), sessions (s1, s2),
    # visitors (a1, a2), users (u1), add-to-carts (e4, e9), checkouts (e5), purchases (T1),
    # revenue; the next day: e13 and e14, sessions s1 and s2, T2.
    "daily_overview": [
        (D, 12, 2, 2, 2, 2, 1, 2, 1, 1, Decimal(2000)),
        (NEXT, 2, 0, 1, 2, 2, 1, 0, 0, 1, Decimal(50)),
    ],
    # day, device, category, sessions, then sessions per step: list, item, cart, checkout,
    # shipping, payment, purchase. Desktop: s1 everywhere, monitors only in e2's list. Mobile:
    # s2, whose items have no category; the bot s3 nowhere. The next day: e13 (desktop, no
    # items) and e14 (mobile purchase of an uncategorised item).
    "daily_funnel": [
        (D, "desktop", "(all)", 1, 1, 1, 1, 1, 0, 0, 1),
        (D, "desktop", "laptops", 1, 1, 1, 1, 1, 0, 0, 1),
        (D, "desktop", "monitors", 1, 1, 0, 0, 0, 0, 0, 0),
        (D, "mobile", "(all)", 1, 0, 1, 1, 0, 0, 0, 0),
        (D, "mobile", "(unknown)", 1, 0, 1, 1, 0, 0, 0, 0),
        (NEXT, "desktop", "(all)", 1, 0, 0, 0, 0, 0, 0, 0),
        (NEXT, "mobile", "(all)", 1, 0, 0, 0, 0, 0, 0, 1),
        (NEXT, "mobile", "(unknown)", 1, 0, 0, 0, 0, 0, 0, 1),
    ],
    # day, item, list views, selects, views, add-to-carts, units added, removes, checkouts,
    # orders, units bought, revenue. P1: e2, e3, e4 (2 units), e5, T1 (2 x 1000); the bot's
    # e12 not counted. P2: e2, e8, e9 (no quantity: 1), e10; bought in T2 the next day.
    "product_daily": [
        (D, "P1", 1, 0, 1, 1, 2, 0, 1, 1, 2, Decimal(2000)),
        (D, "P2", 1, 0, 1, 1, 1, 1, 0, 0, 0, Decimal(0)),
        (NEXT, "P2", 0, 0, 0, 0, 0, 0, 0, 1, 1, Decimal(50)),
    ],
    # hour, events, page views, sessions, visitors, purchases, revenue (bots left out).
    "hourly_traffic": [
        (at(D, 10, 0), 6, 1, 1, 1, 1, Decimal(2000)),
        (at(D, 11, 0), 4, 1, 1, 1, 0, Decimal(0)),
        (at(NEXT, 0, 0), 1, 1, 1, 1, 0, Decimal(0)),
        (at(NEXT, 1, 0), 1, 0, 1, 1, 1, Decimal(50)),
    ],
    # day, referrer, source, medium, campaign, device, sessions, converting sessions,
    # purchases, revenue: the sessions that started on D (s1, s2; not the bot), with their
    # purchases on any day (s2 bought on the next day). None started the next day.
    "daily_acquisition": [
        (D, "(direct)", "(none)", "(none)", "(none)", "mobile", 1, 1, 1, Decimal(50)),
        (D, "news.example", "newsletter", "email", "spring", "desktop", 1, 1, 1, Decimal(2000)),
    ],
    # day, device, events, page views, sessions, visitors, users (bots left out), converting
    # sessions, orders, revenue (the day's purchases), newest event of the day (bots included:
    # e12 on D).
    "daily_device_overview": [
        (D, "desktop", 6, 1, 1, 1, 1, 1, 1, Decimal(2000), at(D, 11, 31)),
        (D, "mobile", 4, 1, 1, 1, 0, 0, 0, Decimal(0), at(D, 11, 31)),
        (NEXT, "desktop", 1, 1, 1, 1, 1, 0, 0, Decimal(0), at(NEXT, 1, 0)),
        (NEXT, "mobile", 1, 0, 1, 1, 0, 1, 1, Decimal(50), at(NEXT, 1, 0)),
    ],
}


def fill(conn: psycopg.Connection) -> None:
    """Write EVENTS, PURCHASES and SESSIONS into the warehouse behind ``conn``."""
    conn.execute("SELECT dw.ensure_event_partitions(%s, %s)", (at(D, 0, 0), at(NEXT, 23, 59)))
    for ts, name, sid, anon, user, device, bot, items in EVENTS:
        conn.execute("INSERT INTO dw.events (event_id, event_ts, event_name, received_at, session_id, anonymous_id, "
                     "user_id, device_category, is_bot, items, file_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, "
                     "%s, 1)", (uuid.uuid4(), ts, name, ts, sid, anon, user, device, bot,
                                None if items is None else json.dumps(items)))
    for tx, ts, sid, anon, user, value, device, items in PURCHASES:
        conn.execute("INSERT INTO dw.purchases (transaction_id, event_id, event_ts, session_id, anonymous_id, "
                     "user_id, value, items, device_category, file_id) "
                     "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 1)",
                     (tx, uuid.uuid4(), ts, sid, anon, user, value, json.dumps(items), device))
    for sid, started, device, bot, ref, src, med, camp in SESSIONS:
        conn.execute("INSERT INTO dw.sessions (session_id, started_at, ended_at, device_category, is_bot, "
                     "referrer_domain, utm_source, utm_medium, utm_campaign) "
                     "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", (sid, started, started, device, bot, ref, src,
                                                                     med, camp))


@pytest.fixture(scope="module")
def dsn(pg_dsn: str) -> str:
    migrate(pg_dsn)
    with psycopg.connect(pg_dsn) as c:
        fill(c)
    return pg_dsn


def rollups(conn: psycopg.Connection, function: str) -> dict[str, list[tuple]]:
    for day in (D, NEXT):
        conn.execute(f"SELECT {function}(%s)", (day,))
    return {t: sorted(conn.execute(f"SELECT * FROM dw.{t}").fetchall()) for t in EXPECTED}


@pytest.mark.parametrize("implementation", ["definition", "reference"])
def test_refresh_day_gives_the_rollups_counted_by_hand(dsn: str, implementation: str) -> None:
    with psycopg.connect(dsn) as c:
        if implementation == "reference":
            c.execute(REFERENCE.read_text())
        got = rollups(c, "dw.refresh_day" if implementation == "definition" else "reference.refresh_day")
        c.rollback()
    for table, rows in EXPECTED.items():
        assert got[table] == sorted(rows), table


def test_refreshing_a_day_again_replaces_its_rows(dsn: str) -> None:
    """A second refresh after a late bot event changes only what bots count in."""
    with psycopg.connect(dsn) as c:
        rollups(c, "dw.refresh_day")
        c.execute("INSERT INTO dw.events (event_id, event_ts, event_name, received_at, device_category, is_bot, "
                  "file_id) VALUES (%s, %s, 'page_view', %s, 'desktop', true, 1)",
                  (uuid.uuid4(), at(D, 12, 0), at(D, 12, 0)))
        got = rollups(c, "dw.refresh_day")
        c.rollback()
    assert got["daily_overview"][0] == (D, 13, 3, *EXPECTED["daily_overview"][0][3:])
    assert got["hourly_traffic"] == sorted(EXPECTED["hourly_traffic"])


def test_the_device_overview_has_no_trigger_of_its_own(dsn: str) -> None:
    """dw.refresh_day writes dw.daily_device_overview itself: no trigger rescans the facts."""
    with psycopg.connect(dsn) as c:
        triggers = c.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'dw.daily_overview'::regclass "
                             "AND NOT tgisinternal").fetchall()
        c.execute("SELECT dw.refresh_day(%s)", (D,))
        rows = c.execute("SELECT count(*) FROM dw.daily_device_overview WHERE day = %s", (D,)).fetchone()[0]
        c.rollback()
    assert triggers == [] and rows == 2


@pytest.fixture
def upgraded(pg_server, tmp_path: Path):
    """A warehouse built, filled and refreshed by the SQL before UPGRADE, then upgraded."""
    name = f"t_refresh_upgrade_{uuid.uuid4().hex[:8]}"
    db = pg_server.create_database(name)
    old = previous_head("sql/dw", f"{UPGRADE}.sql", tmp_path / "dw")
    assert not (old / f"{UPGRADE}.sql").exists()
    assert UPGRADE not in migrate(db, old)
    with psycopg.connect(db) as c:
        fill(c)
        before = rollups(c, "dw.refresh_day")
        counts = c.execute("SELECT (SELECT count(*) FROM dw.events), (SELECT count(*) FROM dw.purchases), "
                           "(SELECT count(*) FROM dw.sessions)").fetchone()
    applied = migrate(db, MIGRATIONS_DIR)
    yield db, before, counts, applied
    pg_server.drop_database(name)


def test_the_upgrade_keeps_every_row_and_a_refresh_after_it_gives_the_same_rollups(upgraded) -> None:
    db, before, counts, applied = upgraded
    assert applied == [UPGRADE]
    assert before == {t: sorted(rows) for t, rows in EXPECTED.items()}  # the old SQL, by hand
    with psycopg.connect(db) as c:
        kept = {t: sorted(c.execute(f"SELECT * FROM dw.{t}").fetchall()) for t in EXPECTED}
        assert c.execute("SELECT (SELECT count(*) FROM dw.events), (SELECT count(*) FROM dw.purchases), "
                         "(SELECT count(*) FROM dw.sessions)").fetchone() == counts == (len(EVENTS), 2, 3)
        after = rollups(c, "dw.refresh_day")
        c.rollback()
    assert kept == before
    assert after == before


def test_after_the_upgrade_every_partition_has_only_the_indexes_with_a_reader(upgraded) -> None:
    db = upgraded[0]
    with psycopg.connect(db) as c:
        indexes = c.execute(
            "SELECT c.relname, array_agg(pg_get_indexdef(i.indexrelid) ORDER BY 1) FROM pg_inherits h "
            "JOIN pg_class c ON c.oid = h.inhrelid JOIN pg_index i ON i.indrelid = c.oid "
            "WHERE h.inhparent = 'dw.events'::regclass GROUP BY c.relname ORDER BY 1").fetchall()
        gone = c.execute("SELECT to_regproc('dw.refresh_device_overview'), "
                         "to_regproc('dw.daily_overview_to_device')").fetchone()
        # The day scan of dw.refresh_day reads the event_ts index (seq scans off: 14 rows).
        c.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in c.execute(
            "EXPLAIN SELECT event_ts FROM dw.events WHERE event_ts >= %s AND event_ts < %s",
            (at(D, 0, 0), at(NEXT, 0, 0))).fetchall())
    assert [name for name, _ in indexes] == ["events_2024_03"]
    defs = indexes[0][1]
    assert len(defs) == 2, defs
    assert any("(event_id, event_ts)" in d and "UNIQUE" in d for d in defs), defs
    assert any("btree (event_ts)" in d for d in defs), defs
    assert gone == (None, None)
    assert "events_2024_03_event_ts_idx" in plan, plan
