"""Every dashboard query, with its SQL, in one place.

Why one module: each figure on a page comes from exactly one named :class:`Query`, so a
test can run that query alone against a loaded warehouse and compare it with the truth,
and the benchmark can time each one. The app (``app.py``) only formats what these return.

Rules the SQL follows:

* it reads only rollup tables and views that the ``dw_reader`` role may select (never
  ``dw.events``): at ten million events a dashboard query must be a small aggregate;
* every value that comes from a user is a psycopg ``%(name)s`` parameter, never formatted
  into the text, so filter values are data, not SQL;
* a filter that is ``None`` means "all" (``%(device)s::text IS NULL OR ...``), which keeps
  one statement per figure instead of string-built variants.

Sums of per-day distinct counts (sessions, users) are "session-days" and "visitor-days":
the rollups are per day, and a session crossing midnight counts once per day it touched.
The labels in the app say so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import psycopg

# Dates outside this window are refused rather than sent to the database: nothing real is
# there, and it bounds generate_series in the daily trend to ~37k rows.
DATE_MIN = date(2000, 1, 1)
DATE_MAX = date(2100, 12, 31)
MAX_FILTER_LEN = 128
STATEMENT_TIMEOUT_MS = 15_000
ALL = None

FUNNEL_STEPS = ("view_item", "add_to_cart", "begin_checkout", "add_payment_info", "purchase")


class FilterError(ValueError):
    """A filter value the dashboard refuses (shown to the user, never sent as SQL)."""


def _as_date(value: object, name: str) -> date:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        d = value
    elif isinstance(value, str):
        try:
            d = date.fromisoformat(value.strip()[:32])
        except ValueError as exc:
            raise FilterError(f"{name}: not a date (expected YYYY-MM-DD)") from exc
    else:
        raise FilterError(f"{name}: not a date")
    if not DATE_MIN <= d <= DATE_MAX:
        raise FilterError(f"{name}: {d} is outside {DATE_MIN}..{DATE_MAX}")
    return d


def _as_choice(value: object, name: str) -> str | None:
    """``None``/``""``/``"all"`` mean no filter; anything else is a literal value to match."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise FilterError(f"{name}: expected text")
    if value == "" or value.lower() == "all":
        return None
    if len(value) > MAX_FILTER_LEN:
        raise FilterError(f"{name}: longer than {MAX_FILTER_LEN} characters")
    if "\x00" in value:  # PostgreSQL text cannot hold NUL; refuse instead of erroring there
        raise FilterError(f"{name}: contains a NUL character")
    return value


@dataclass(frozen=True)
class Filters:
    """The dashboard's filters: an inclusive UTC date range, a device and a category."""

    start: date
    end: date
    device: str | None = None
    category: str | None = None
    limit: int = 100

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _as_date(self.start, "start"))
        object.__setattr__(self, "end", _as_date(self.end, "end"))
        object.__setattr__(self, "device", _as_choice(self.device, "device"))
        object.__setattr__(self, "category", _as_choice(self.category, "category"))
        if self.start > self.end:
            raise FilterError(f"start {self.start} is after end {self.end}")
        if not isinstance(self.limit, int) or not 1 <= self.limit <= 10_000:
            raise FilterError("limit: expected 1..10000")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> tuple[date, date]:
        """The period of the same length that ends the day before ``start``."""
        prev_end = self.start - timedelta(days=1)
        prev_start = prev_end - timedelta(days=self.days - 1)
        return max(prev_start, DATE_MIN - timedelta(days=self.days)), prev_end

    def params(self) -> dict[str, Any]:
        prev_start, prev_end = self.previous()
        return {
            "start": self.start, "end": self.end, "prev_start": prev_start, "prev_end": prev_end,
            "device": self.device, "category": self.category, "limit": self.limit,
        }


@dataclass(frozen=True)
class Query:
    """One dashboard figure or table: its page, its SQL and which filters it honours."""

    name: str
    page: str
    title: str
    sql: str
    uses: frozenset[str] = field(default_factory=frozenset)

    def run(self, conn: psycopg.Connection, filters: Filters | None = None) -> pd.DataFrame:
        """Execute with the filters' parameters and return the rows as a DataFrame."""
        params = filters.params() if filters is not None else {}
        with conn.cursor() as cur:
            cur.execute(self.sql, params)  # type: ignore[arg-type]  # SQL text is a constant
            cols = [c.name for c in cur.description or ()]
            return pd.DataFrame(cur.fetchall(), columns=cols)


_DEVICE = "(%(device)s::text IS NULL OR {col} = %(device)s::text)"
_RANGE = "{col} BETWEEN %(start)s::date AND %(end)s::date"
_HOUR_RANGE = ("{col} >= (%(start)s::date)::timestamp AT TIME ZONE 'UTC' "
               "AND {col} < (%(end)s::date + 1)::timestamp AT TIME ZONE 'UTC'")

_QUERIES: list[Query] = []


def _q(name: str, page: str, title: str, sql: str, uses: str = "") -> Query:
    q = Query(name, page, title, sql, frozenset(uses.split()))
    _QUERIES.append(q)
    return q


# -- filter choices ---------------------------------------------------------------------------
DATE_BOUNDS = _q("date_bounds", "filters", "Days with data", """
SELECT min(day) AS first_day, max(day) AS last_day FROM dw.daily_overview
""")

DEVICES = _q("devices", "filters", "Devices", """
SELECT DISTINCT device_category FROM dw.daily_device_overview ORDER BY 1
""")

CATEGORIES = _q("categories", "filters", "Categories", """
SELECT DISTINCT item_category FROM dw.daily_funnel WHERE item_category <> '(all)' ORDER BY 1
""")

# -- overview ---------------------------------------------------------------------------------
OVERVIEW = _q("overview", "overview", "Headline figures, current and previous period", f"""
WITH periods(period, lo, hi) AS (
    VALUES ('current', %(start)s::date, %(end)s::date),
           ('previous', %(prev_start)s::date, %(prev_end)s::date)
)
SELECT p.period, p.lo AS first_day, p.hi AS last_day,
       coalesce(sum(o.sessions), 0)::bigint AS sessions,
       coalesce(sum(o.visitors), 0)::bigint AS users,
       coalesce(sum(o.page_views), 0)::bigint AS page_views,
       coalesce(sum(o.events), 0)::bigint AS events,
       coalesce(sum(o.converting_sessions), 0)::bigint AS converting_sessions,
       coalesce(sum(o.orders), 0)::bigint AS orders,
       coalesce(sum(o.revenue), 0)::float8 AS revenue,
       (sum(o.converting_sessions)::float8 / nullif(sum(o.sessions), 0)) AS conversion_rate,
       (sum(o.revenue) / nullif(sum(o.orders), 0))::float8 AS aov
  FROM periods p
  LEFT JOIN dw.daily_device_overview o
    ON o.day BETWEEN p.lo AND p.hi AND {_DEVICE.format(col="o.device_category")}
 GROUP BY p.period, p.lo, p.hi
 ORDER BY p.period = 'previous'
""", "start end device")

# -- funnel -----------------------------------------------------------------------------------
_FUNNEL_WHERE = f"""
 WHERE {_RANGE.format(col="day")}
   AND {_DEVICE.format(col="device_category")}"""

FUNNEL = _q("funnel", "funnel", "Funnel (sessions reaching each step)", f"""
WITH f AS (
    SELECT coalesce(sum(view_item), 0) AS view_item,
           coalesce(sum(add_to_cart), 0) AS add_to_cart,
           coalesce(sum(begin_checkout), 0) AS begin_checkout,
           coalesce(sum(add_payment_info), 0) AS add_payment_info,
           coalesce(sum(purchase), 0) AS purchase
      FROM dw.daily_funnel {_FUNNEL_WHERE}
       AND item_category = coalesce(%(category)s::text, '(all)')
), steps AS (
    SELECT s.step_no, s.step, s.n
      FROM f CROSS JOIN LATERAL (VALUES
          (1, 'view_item', f.view_item), (2, 'add_to_cart', f.add_to_cart),
          (3, 'begin_checkout', f.begin_checkout), (4, 'add_payment_info', f.add_payment_info),
          (5, 'purchase', f.purchase)) AS s(step_no, step, n)
)
SELECT step_no, step, n::bigint AS sessions,
       n::float8 / nullif(lag(n) OVER w, 0) AS step_conversion,
       n::float8 / nullif(first_value(n) OVER w, 0) AS overall_conversion,
       (lag(n) OVER w - n)::bigint AS drop_off
  FROM steps
WINDOW w AS (ORDER BY step_no)
 ORDER BY step_no
""", "start end device category")

_FUNNEL_COLS = """
       sum(sessions)::bigint AS sessions, sum(view_item)::bigint AS view_item,
       sum(add_to_cart)::bigint AS add_to_cart, sum(begin_checkout)::bigint AS begin_checkout,
       sum(add_payment_info)::bigint AS add_payment_info, sum(purchase)::bigint AS purchase,
       sum(purchase)::float8 / nullif(sum(view_item), 0) AS view_to_purchase"""

FUNNEL_BY_DEVICE = _q("funnel_by_device", "funnel", "Funnel by device", f"""
SELECT device_category, {_FUNNEL_COLS}
  FROM dw.daily_funnel {_FUNNEL_WHERE}
   AND item_category = coalesce(%(category)s::text, '(all)')
 GROUP BY device_category
 ORDER BY sessions DESC, device_category
""", "start end device category")

FUNNEL_BY_CATEGORY = _q("funnel_by_category", "funnel", "Funnel by product category", f"""
SELECT item_category, {_FUNNEL_COLS}
  FROM dw.daily_funnel {_FUNNEL_WHERE}
   AND item_category <> '(all)'
   AND (%(category)s::text IS NULL OR item_category = %(category)s::text)
 GROUP BY item_category
 ORDER BY sessions DESC, item_category
""", "start end device category")

# -- products ---------------------------------------------------------------------------------
_PRODUCT_AGG = f"""
SELECT pd.item_id, p.item_name, p.item_brand,
       coalesce(p.item_category, '(unknown)') AS item_category,
       sum(pd.views)::bigint AS views, sum(pd.add_to_carts)::bigint AS add_to_carts,
       sum(pd.orders)::bigint AS purchases, sum(pd.units_purchased)::bigint AS units,
       sum(pd.revenue)::float8 AS revenue,
       sum(pd.orders)::float8 / nullif(sum(pd.views), 0) AS view_to_purchase,
       greatest(1 - sum(pd.orders)::float8 / nullif(sum(pd.add_to_carts), 0), 0)
           AS cart_abandonment
  FROM dw.product_daily pd
  LEFT JOIN dw.products p USING (item_id)
 WHERE {_RANGE.format(col="pd.day")}
   AND (%(category)s::text IS NULL OR p.item_category = %(category)s::text)
 GROUP BY pd.item_id, p.item_name, p.item_brand, p.item_category"""

PRODUCTS = _q("products", "products", "Products", f"""
{_PRODUCT_AGG}
 ORDER BY revenue DESC, views DESC, item_id
 LIMIT %(limit)s
""", "start end category")

TOP_PRODUCTS = _q("top_products", "products", "Top product by each measure", f"""
WITH a AS ({_PRODUCT_AGG})
(SELECT 'views' AS measure, item_id, item_name, views::float8 AS value FROM a
  WHERE views > 0 ORDER BY views DESC, item_id LIMIT 1)
UNION ALL
(SELECT 'add_to_carts', item_id, item_name, add_to_carts::float8 FROM a
  WHERE add_to_carts > 0 ORDER BY add_to_carts DESC, item_id LIMIT 1)
UNION ALL
(SELECT 'purchases', item_id, item_name, purchases::float8 FROM a
  WHERE purchases > 0 ORDER BY purchases DESC, item_id LIMIT 1)
UNION ALL
(SELECT 'revenue', item_id, item_name, revenue FROM a
  WHERE revenue > 0 ORDER BY revenue DESC, item_id LIMIT 1)
""", "start end category")

# -- trends -----------------------------------------------------------------------------------
TRENDS_DAILY = _q("trends_daily", "trends", "By day", f"""
SELECT d::date AS day,
       coalesce(sum(o.events), 0)::bigint AS events,
       coalesce(sum(o.sessions), 0)::bigint AS sessions,
       coalesce(sum(o.page_views), 0)::bigint AS page_views,
       coalesce(sum(o.orders), 0)::bigint AS orders,
       coalesce(sum(o.revenue), 0)::float8 AS revenue
  FROM generate_series(%(start)s::date, %(end)s::date, interval '1 day') AS d
  LEFT JOIN dw.daily_device_overview o
    ON o.day = d::date AND {_DEVICE.format(col="o.device_category")}
 GROUP BY d
 ORDER BY d
""", "start end device")

TRENDS_HOURLY = _q("trends_hourly", "trends", "By hour (UTC)", f"""
SELECT hour, events, sessions, page_views, purchases AS orders, revenue::float8 AS revenue
  FROM dw.hourly_traffic
 WHERE {_HOUR_RANGE.format(col="hour")}
 ORDER BY hour
""", "start end")

HOUR_OF_WEEK = _q("hour_of_week", "trends", "Hour-of-week heat map (UTC)", f"""
SELECT extract(isodow FROM hour AT TIME ZONE 'UTC')::int AS iso_dow,
       extract(hour FROM hour AT TIME ZONE 'UTC')::int AS hour_of_day,
       sum(events)::bigint AS events, sum(sessions)::bigint AS sessions,
       sum(purchases)::bigint AS orders, sum(revenue)::float8 AS revenue
  FROM dw.hourly_traffic
 WHERE {_HOUR_RANGE.format(col="hour")}
 GROUP BY 1, 2
 ORDER BY 1, 2
""", "start end")

# -- acquisition ------------------------------------------------------------------------------
_ACQ_COLS = """
       sum(sessions)::bigint AS sessions, sum(converting_sessions)::bigint AS converting_sessions,
       sum(converting_sessions)::float8 / nullif(sum(sessions), 0) AS conversion_rate,
       sum(purchases)::bigint AS orders, sum(revenue)::float8 AS revenue"""
_ACQ_WHERE = f"""
  FROM dw.daily_acquisition
 WHERE {_RANGE.format(col="day")} AND {_DEVICE.format(col="device_category")}"""

ACQ_REFERRER = _q("acquisition_referrer", "acquisition", "By referrer domain", f"""
SELECT referrer_domain, {_ACQ_COLS} {_ACQ_WHERE}
 GROUP BY referrer_domain
 ORDER BY sessions DESC, referrer_domain
""", "start end device")

ACQ_UTM = _q("acquisition_utm", "acquisition", "By UTM source / medium / campaign", f"""
SELECT utm_source, utm_medium, utm_campaign, {_ACQ_COLS} {_ACQ_WHERE}
 GROUP BY utm_source, utm_medium, utm_campaign
 ORDER BY sessions DESC, utm_source, utm_medium, utm_campaign
""", "start end device")

# -- data health ------------------------------------------------------------------------------
HEALTH = _q("health", "health", "Pipeline health", """
SELECT f.last_load_at, n.newest_event_at, f.last_event_hour,
       extract(epoch FROM now() - n.newest_event_at)::float8 AS freshness_seconds,
       extract(epoch FROM now() - f.last_load_at)::float8 AS since_last_load_seconds,
       t.files_loaded, t.files_failed, t.events_loaded, t.duplicates, t.rejected,
       f.days_pending_refresh
  FROM dw.v_freshness f
 CROSS JOIN (SELECT max(newest_event_at) AS newest_event_at FROM dw.daily_device_overview) n
 CROSS JOIN (SELECT coalesce(sum(files_loaded), 0)::bigint AS files_loaded,
                    coalesce(sum(files_failed), 0)::bigint AS files_failed,
                    coalesce(sum(events_loaded), 0)::bigint AS events_loaded,
                    coalesce(sum(duplicates), 0)::bigint AS duplicates,
                    coalesce(sum(rejected), 0)::bigint AS rejected
               FROM dw.v_load_health_daily) t
""")

LOADS_DAILY = _q("loads_daily", "health", "Loads per raw partition day", """
SELECT dt, files_loaded, files_failed, lines, events_loaded, duplicates, rejected, last_loaded_at
  FROM dw.v_load_health_daily
 ORDER BY dt DESC
 LIMIT 90
""")

# Every delivery accounted for (issue: nothing lost): per raw partition day, what the loaded
# objects held (their writers' declared counts, else their lines) against what became of it.
# unaccounted <> 0 or mismatched_files > 0 means events went missing between ingest and the
# warehouse (dw.v_accounting_mismatches names the objects); unreadable_files are owed objects
# the ETL keeps retrying or an operator has yet to mark (dw.v_unreadable_objects).
LOAD_IDENTITY = _q("load_identity_daily", "health",
                   "Accounting per day: received = loaded + duplicates + rejected", """
SELECT dt, received, events_loaded, duplicates, rejected, unaccounted, mismatched_files,
       unreadable_files
  FROM dw.v_load_identity_daily
 ORDER BY dt DESC
 LIMIT 90
""")

REJECTS = _q("rejects_by_reason", "health", "Rejected events by reason", """
SELECT stage, reason, sum(rejected)::bigint AS rejected
  FROM dw.v_rejects_by_reason
 GROUP BY stage, reason
 ORDER BY rejected DESC, stage, reason
""")

FAILED_FILES = _q("failed_files", "health", "Files that failed to load", """
SELECT key, dt, failure, attempts, error, loaded_at, next_attempt_at, mark_reason
  FROM dw.v_failed_files
 ORDER BY loaded_at DESC
 LIMIT 100
""")

QUERIES: Mapping[str, Query] = {q.name: q for q in _QUERIES}


def run(conn: psycopg.Connection, name: str, filters: Filters | None = None) -> pd.DataFrame:
    """Run one named query (what the app, the tests and the benchmark call)."""
    return QUERIES[name].run(conn, filters)


# -- derived figures (pure functions of a query's rows) ---------------------------------------
OVERVIEW_METRICS = (
    ("sessions", "Sessions (session-days)"),
    ("users", "Users (visitor-days)"),
    ("page_views", "Page views"),
    ("conversion_rate", "Conversion rate"),
    ("revenue", "Revenue"),
    ("aov", "Average order value"),
)


def change(current: float | None, previous: float | None) -> float | None:
    """Relative change; ``None`` when there is nothing to compare with."""
    if current is None or previous is None or pd.isna(current) or pd.isna(previous) or previous == 0:
        return None
    return (float(current) - float(previous)) / float(previous)


def overview_figures(df: pd.DataFrame) -> pd.DataFrame:
    """One row per headline metric: current, previous and relative change."""
    cur = df[df["period"] == "current"].iloc[0]
    prev = df[df["period"] == "previous"].iloc[0]
    rows = []
    for key, label in OVERVIEW_METRICS:
        c = None if pd.isna(cur[key]) else float(cur[key])
        p = None if pd.isna(prev[key]) else float(prev[key])
        rows.append({"metric": key, "label": label, "current": c, "previous": p,
                     "change": change(c, p)})
    return pd.DataFrame(rows)


# -- connection ------------------------------------------------------------------------------
def dsn_from_env(env: Mapping[str, str] | None = None) -> str:
    """``DASHBOARD_DSN`` if set; otherwise ``""``, which makes libpq read PGHOST, PGPORT,
    PGDATABASE, PGUSER and PGPASSWORD (and PGPASSFILE, PGSSLMODE...) itself."""
    env = os.environ if env is None else env
    return env.get("DASHBOARD_DSN", "")


def connect(dsn: str | None = None) -> psycopg.Connection:
    """A read-only, autocommit connection with a statement timeout.

    The server-side role is what enforces read-only access (``dw_reader``); the session
    setting is a second guard, and the timeout stops one runaway query holding the app.
    """
    return psycopg.connect(
        dsn_from_env() if dsn is None else dsn,
        autocommit=True,
        application_name="clickstream-dashboards",
        options=f"-c default_transaction_read_only=on -c statement_timeout={STATEMENT_TIMEOUT_MS}",
        connect_timeout=10,
    )
