"""Every dashboard figure against the generator's truth, on a real PostgreSQL.

The warehouse is loaded once per module through the ETL's own load path; the queries run as
a login role that is only a member of ``dw_reader``, so a query that touched a table the
dashboards may not read would fail here. The truth (``dashdata.compute_truth``) comes from
the generated events in Python, not from SQL.
"""

from __future__ import annotations

import os
from datetime import date, timedelta

import psycopg
import pytest

from shiny_app import queries as Q
from tests.e2e.dashboards import dashdata

pytestmark = pytest.mark.e2e

START, END = dashdata.CFG.start, dashdata.CFG.start + timedelta(days=dashdata.CFG.days - 1)
ROLE = f"dash_reader_{os.getpid()}"


@pytest.fixture(scope="module")
def truth() -> dashdata.Truth:
    return dashdata.compute_truth()


@pytest.fixture(scope="module")
def conn(pg_server, pg_dsn):
    dashdata.load_warehouse(pg_dsn)
    dbname = pg_dsn.rsplit("/", 1)[-1].split("?")[0]
    with Q.connect(dashdata.reader_dsn(pg_server, dbname, ROLE)) as c:
        yield c
    dashdata.drop_role(pg_server, ROLE)


FILTER_CASES = [
    pytest.param(START, END, None, None, id="all"),
    pytest.param(START + timedelta(days=1), START + timedelta(days=2), None, None, id="days-2-3"),
    pytest.param(START, END, "mobile", None, id="mobile"),
    pytest.param(START, END, None, "Laptops", id="laptops"),
    pytest.param(START + timedelta(days=2), END, "desktop", "Monitors", id="desktop-monitors-late"),
]


def _close(a, b, tol: float = 1e-9) -> bool:
    a, b = (None if x is None or x != x else x for x in (a, b))  # NaN means "no value"
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= tol * max(1.0, abs(float(b)))


# -- Overview ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("start", "end", "device", "category"), FILTER_CASES)
def test_overview_equals_truth_with_change_vs_previous_period(conn, truth, start, end, device, category):
    f = Q.Filters(start, end, device, category)
    df = Q.run(conn, "overview", f)
    figs = Q.overview_figures(df).set_index("metric")
    want = truth.overview(start, end, device)
    prev_start, prev_end = f.previous()
    assert (prev_end - prev_start) == (end - start) and prev_end == start - timedelta(days=1)
    want_prev = truth.overview(prev_start, prev_end, device)
    cur = df.iloc[0]
    for k in ("sessions", "users", "page_views", "events", "converting_sessions", "orders"):
        assert cur[k] == want[k], k
    assert round(cur["revenue"], 2) == want["revenue"]
    for metric, _label in Q.OVERVIEW_METRICS:
        got_c, got_p = figs.loc[metric, "current"], figs.loc[metric, "previous"]
        assert _close(got_c, want[metric], 1e-6), (metric, got_c, want[metric])
        assert _close(got_p, want_prev[metric], 1e-6), (metric, got_p, want_prev[metric])
        assert _close(figs.loc[metric, "change"], Q.change(want[metric], want_prev[metric]), 1e-6)


def test_overview_change_is_computed_when_previous_period_has_data(conn, truth):
    day2 = START + timedelta(days=1)
    figs = Q.overview_figures(Q.run(conn, "overview", Q.Filters(day2, day2))).set_index("metric")
    a, b = truth.overview(day2, day2), truth.overview(START, START)
    assert b["sessions"] > 0
    assert figs.loc["sessions", "change"] == pytest.approx((a["sessions"] - b["sessions"]) / b["sessions"])
    assert figs.loc["revenue", "change"] == pytest.approx((a["revenue"] - b["revenue"]) / b["revenue"], rel=1e-6)


def test_overview_total_revenue_and_purchases_equal_generator_truth(conn, truth):
    cur = Q.run(conn, "overview", Q.Filters(START, END + timedelta(days=30))).iloc[0]
    assert cur["orders"] == truth.generator.purchases
    assert round(cur["revenue"], 2) == round(truth.generator.revenue, 2)
    assert cur["sessions"] == truth.generator.sessions  # no generated session crosses midnight


# -- Funnel -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("start", "end", "device", "category"), FILTER_CASES)
def test_funnel_counts_rates_and_drop_off_equal_truth(conn, truth, start, end, device, category):
    df = Q.run(conn, "funnel", Q.Filters(start, end, device, category))
    want = truth.funnel_counts(start, end, device, category)
    assert list(df["step"]) == list(Q.FUNNEL_STEPS)
    counts = [want[s] for s in Q.FUNNEL_STEPS]
    assert list(df["sessions"]) == counts
    assert counts[0] > counts[-1] > 0
    for i, row in df.iterrows():
        if i == 0:
            assert row["step_conversion"] != row["step_conversion"]  # NaN: no previous step
            continue
        assert row["step_conversion"] == pytest.approx(counts[i] / counts[i - 1])
        assert row["overall_conversion"] == pytest.approx(counts[i] / counts[0])
        assert row["drop_off"] == counts[i - 1] - counts[i]


@pytest.mark.parametrize(("start", "end", "device", "category"), FILTER_CASES)
def test_funnel_split_by_device_and_category_equals_truth(conn, truth, start, end, device, category):
    f = Q.Filters(start, end, device, category)
    for name, key, col in (("funnel_by_device", "device", "device_category"),
                           ("funnel_by_category", "category", "item_category")):
        df = Q.run(conn, name, f)
        want = truth.funnel_by(key, start, end, device, category)
        got = {r[col]: {k: r[k] for k in ("sessions", *Q.FUNNEL_STEPS)} for _, r in df.iterrows()}
        assert got == want, name
        for _, r in df.iterrows():
            assert r["view_to_purchase"] == pytest.approx(r["purchase"] / r["view_item"])


# -- Products ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("start", "end", "device", "category"), FILTER_CASES)
def test_products_table_equals_truth(conn, truth, start, end, device, category):
    df = Q.run(conn, "products", Q.Filters(start, end, device, category))
    want = truth.products(start, end, category)
    assert set(df["item_id"]) == set(want)
    for _, r in df.iterrows():
        w = want[r["item_id"]]
        assert r["item_category"] == truth.item_category[r["item_id"]]
        assert r["item_name"] == truth.item_name[r["item_id"]]
        assert (r["views"], r["add_to_carts"], r["purchases"], r["units"]) == (
            w.get("views", 0), w.get("add_to_carts", 0), w.get("purchases", 0), w.get("units", 0))
        assert round(r["revenue"], 2) == round(w.get("revenue", 0.0), 2)
        if w.get("views"):
            assert r["view_to_purchase"] == pytest.approx(w.get("purchases", 0) / w["views"])
        if w.get("add_to_carts"):
            assert r["cart_abandonment"] == pytest.approx(max(0.0, 1 - w.get("purchases", 0) / w["add_to_carts"]))
    assert list(df["revenue"]) == sorted(df["revenue"], reverse=True)


@pytest.mark.parametrize(("start", "end", "device", "category"), FILTER_CASES)
def test_top_product_per_measure_equals_truth(conn, truth, start, end, device, category):
    df = Q.run(conn, "top_products", Q.Filters(start, end, device, category)).set_index("measure")
    want = truth.products(start, end, category)
    for measure in ("views", "add_to_carts", "purchases", "revenue"):
        best = max(want, key=lambda i: (round(want[i].get(measure, 0), 4), _neg(i)))
        assert df.loc[measure, "item_id"] == best, measure
        assert round(df.loc[measure, "value"], 2) == round(want[best][measure], 2)


def _neg(item_id: str) -> tuple:
    """Ties go to the smallest item_id (as the SQL orders them)."""
    return tuple(-ord(c) for c in item_id)


# -- Trends -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("start", "end", "device", "category"), FILTER_CASES)
def test_trends_by_day_hour_and_hour_of_week_equal_truth(conn, truth, start, end, device, category):
    f = Q.Filters(start, end, device, category)
    daily = Q.run(conn, "trends_daily", f)
    assert list(daily["day"]) == [start + timedelta(days=i) for i in range((end - start).days + 1)]
    for _, r in daily.iterrows():
        w = truth.overview(r["day"], r["day"], device)
        assert (r["events"], r["sessions"], r["page_views"], r["orders"]) == (
            w["events"], w["sessions"], w["page_views"], w["orders"])
        assert round(r["revenue"], 2) == w["revenue"]

    hourly = Q.run(conn, "trends_hourly", f)
    want = truth.hourly_in(start, end)
    got = {r["hour"]: r for _, r in hourly.iterrows()}
    assert set(got) == set(want)
    for h, w in want.items():
        r = got[h]
        assert (r["events"], r["sessions"], r["page_views"], r["orders"]) == (
            w.get("events", 0), w.get("sessions", 0), w.get("page_views", 0), w.get("orders", 0))
        assert round(r["revenue"], 2) == round(w.get("revenue", 0.0), 2)

    heat = Q.run(conn, "hour_of_week", f)
    cells: dict = {}
    for h, w in want.items():
        k = (h.isoweekday(), h.hour)
        cells[k] = cells.get(k, 0) + w.get("events", 0)
    assert {(r["iso_dow"], r["hour_of_day"]): r["events"] for _, r in heat.iterrows()} == cells
    assert heat["iso_dow"].between(1, 7).all() and heat["hour_of_day"].between(0, 23).all()


# -- Acquisition ------------------------------------------------------------------------------
@pytest.mark.parametrize(("start", "end", "device", "category"), FILTER_CASES)
def test_acquisition_by_referrer_and_utm_equals_truth(conn, truth, start, end, device, category):
    f = Q.Filters(start, end, device, category)
    for name, by in (("acquisition_referrer", ("referrer_domain",)),
                     ("acquisition_utm", ("utm_source", "utm_medium", "utm_campaign"))):
        df = Q.run(conn, name, f)
        want = truth.acquisition(by, start, end, device)
        got = {tuple(r[k] for k in by): r for _, r in df.iterrows()}
        assert set(got) == set(want), name
        for k, w in want.items():
            r = got[k]
            assert r["sessions"] == w["sessions"] and r["converting_sessions"] == w["converting_sessions"]
            assert r["orders"] == w["orders"]
            assert round(r["revenue"], 2) == round(w["revenue"], 2)
            assert r["conversion_rate"] == pytest.approx(w["converting_sessions"] / w["sessions"])
    assert ("google.com",) in truth.acquisition(("referrer_domain",), START, END)


# -- Data health ------------------------------------------------------------------------------
def test_data_health_counts_freshness_and_rejects_equal_truth(conn, truth):
    h = Q.run(conn, "health").iloc[0]
    assert h["files_loaded"] == truth.objects and h["files_failed"] == 0
    assert h["events_loaded"] == truth.unique_events
    assert h["rejected"] == truth.rejected
    assert h["newest_event_at"] == truth.newest_event
    assert h["days_pending_refresh"] == 0
    assert h["freshness_seconds"] > 0 and h["since_last_load_seconds"] >= 0
    rej = Q.run(conn, "rejects_by_reason")
    assert rej["rejected"].sum() == truth.rejected
    ingest = {r["reason"]: r["rejected"] for _, r in rej.iterrows() if r["stage"] == "ingest"}
    assert ingest == dict(truth.ingest_reasons)
    loads = Q.run(conn, "loads_daily")
    assert loads["files_loaded"].sum() == truth.objects
    assert Q.run(conn, "failed_files").empty


def test_data_health_shows_every_delivery_accounted_per_day(conn, truth):
    """received = loaded + duplicates + rejected, day by day, adding up to what was sent."""
    ident = Q.run(conn, "load_identity_daily")
    assert len(ident) == len(Q.run(conn, "loads_daily")) > 1
    for _, r in ident.iterrows():
        assert r["received"] == r["events_loaded"] + r["duplicates"] + r["rejected"], r["dt"]
    assert (ident["unaccounted"] == 0).all() and ident["mismatched_files"].sum() == 0
    assert ident["unreadable_files"].sum() == 0
    g = truth.generator
    assert ident["received"].sum() == g.lines_sent
    assert ident["events_loaded"].sum() == truth.unique_events
    assert ident["duplicates"].sum() == g.duplicate_deliveries
    assert ident["rejected"].sum() == truth.rejected


@pytest.mark.usefixtures("truth")
def test_filter_choices_list_what_was_generated(conn):
    b = Q.run(conn, "date_bounds").iloc[0]
    assert (b["first_day"], b["last_day"]) == (START, END)
    assert list(Q.run(conn, "devices")["device_category"]) == ["desktop", "mobile", "tablet"]
    assert set(Q.run(conn, "categories")["item_category"]) == set(dashdata.traffic.CATEGORIES)


# -- each query alone, filters, hostile input -------------------------------------------------
@pytest.mark.parametrize("name", sorted(Q.QUERIES))
@pytest.mark.usefixtures("pg_server")
def test_each_query_runs_alone_on_a_fresh_connection(conn, name):
    with Q.connect(conn.info.dsn) as c:
        df = Q.run(c, name, Q.Filters(START, END))
    assert list(df.columns), name
    assert name in ("failed_files",) or len(df) > 0, name


def test_filters_change_the_numbers(conn):
    all_ = Q.run(conn, "overview", Q.Filters(START, END)).iloc[0]
    mob = Q.run(conn, "overview", Q.Filters(START, END, "mobile")).iloc[0]
    day1 = Q.run(conn, "overview", Q.Filters(START, START)).iloc[0]
    assert 0 < mob["sessions"] < all_["sessions"] and 0 < day1["sessions"] < all_["sessions"]
    f_all = Q.run(conn, "funnel", Q.Filters(START, END))["sessions"].tolist()
    f_lap = Q.run(conn, "funnel", Q.Filters(START, END, category="Laptops"))["sessions"].tolist()
    assert all(a > b > 0 for a, b in zip(f_all, f_lap, strict=True))
    p = Q.run(conn, "products", Q.Filters(START, END, category="Mice"))
    assert set(p["item_category"]) == {"Mice"}


HOSTILE = ["'; DROP TABLE dw.events; --", "mobile' OR '1'='1", "%(start)s", "%s", "\\",
           "mobile\"; SELECT pg_sleep(5); --", "ü🙂 tablet", "(all)", "x" * 128]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_filter_values_are_data_not_sql(conn, value):
    f = Q.Filters(START, END, device=value, category=value)
    for name in Q.QUERIES:
        df = Q.run(conn, name, f)  # must not raise
        if "device" in Q.QUERIES[name].uses:
            numeric = df.select_dtypes("number").drop(columns=["step_no"], errors="ignore")
            assert numeric.fillna(0).to_numpy().sum() == 0, (name, value)
    # the facts are intact and the role still reads only what it may
    assert Q.run(conn, "overview", Q.Filters(START, END)).iloc[0]["sessions"] > 0


@pytest.mark.parametrize(("start", "end", "msg"), [
    ("2024-13-45", "2024-06-06", "not a date"),
    ("9999-01-01", "9999-01-02", "outside"),
    ("0001-01-01", "2024-06-06", "outside"),
    ("2024-06-06", "2024-06-03", "after end"),
    ("2024-06-03'; --", "2024-06-06", "not a date"),
    (None, "2024-06-06", "not a date"),
])
def test_absurd_dates_are_refused_cleanly(start, end, msg):
    with pytest.raises(Q.FilterError, match=msg):
        Q.Filters(start, end)


@pytest.mark.parametrize(("kw", "msg"), [
    ({"device": "x" * 129}, "longer than"), ({"category": "a\x00b"}, "NUL"),
    ({"device": 3}, "expected text"), ({"limit": 0}, "limit"),
])
def test_other_bad_filter_values_are_refused_cleanly(kw, msg):
    with pytest.raises(Q.FilterError, match=msg):
        Q.Filters(START, END, **kw)


def test_dates_far_from_the_data_answer_with_zeros(conn):
    f = Q.Filters(date(2000, 1, 1), date(2000, 1, 31), "mobile", "Laptops")
    assert Q.run(conn, "overview", f).iloc[0]["sessions"] == 0
    assert Q.run(conn, "funnel", f)["sessions"].sum() == 0
    assert Q.run(conn, "products", f).empty
    assert len(Q.run(conn, "trends_daily", f)) == 31


def test_reader_role_cannot_read_facts_or_write(conn):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT count(*) FROM dw.events")
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("DELETE FROM dw.daily_overview")


def test_connection_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DASHBOARD_DSN", "postgresql://u@h:1/db")
    assert Q.dsn_from_env() == "postgresql://u@h:1/db"
    assert Q.dsn_from_env({"PGHOST": "x"}) == ""  # libpq reads PG* itself
