"""The six pages: UI layout and the server that fills it from :mod:`shiny_app.queries`.

Each table is the rows of one named query (rates shown as percentages) with a CSV download
of the query's exact output; each headline number carries its raw value in a ``data-value``
attribute so the browser test compares it with SQL without parsing formatted text.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import date, timedelta

import pandas as pd
import psycopg
from htmltools import Tag
from shiny import Inputs, Outputs, Session, reactive, render, req, ui

from shiny_app import charts
from shiny_app import queries as Q

log = logging.getLogger("shiny_app")

# (query name, page, title) for every table on every page, in page order.
TABLES: list[tuple[str, str]] = [
    ("overview", "overview"),
    ("funnel", "funnel"), ("funnel_by_device", "funnel"), ("funnel_by_category", "funnel"),
    ("products", "products"), ("top_products", "products"),
    ("trends_daily", "trends"), ("trends_hourly", "trends"), ("hour_of_week", "trends"),
    ("acquisition_referrer", "acquisition"), ("acquisition_utm", "acquisition"),
    ("rejects_by_reason", "health"), ("loads_daily", "health"), ("load_identity_daily", "health"),
    ("failed_files", "health"),
]
PAGES = {
    "overview": ("Overview", "date range, device"),
    "funnel": ("Funnel", "date range, device, category"),
    "products": ("Products", "date range, category"),
    "trends": ("Trends", "date range (daily: also device)"),
    "acquisition": ("Acquisition", "date range, device"),
    "health": ("Data health", "none: the whole pipeline"),
}
RATE_COLS = ("conversion_rate", "step_conversion", "overall_conversion", "view_to_purchase",
             "cart_abandonment")


# -- formatting ---------------------------------------------------------------------------------
def fmt(metric: str, value: float | None) -> str:
    if value is None or value != value:
        return "n/a"
    if metric in ("revenue", "aov"):
        return f"${value:,.2f}"
    if metric in RATE_COLS:
        return f"{value:.2%}"
    return f"{value:,.0f}"


def fmt_change(value: float | None) -> str:
    if value is None or value != value:
        return "no previous data"
    return f"{value:+.1%} vs previous period"


def display(df: pd.DataFrame) -> pd.DataFrame:
    """Rates as percentages (still numbers, so columns sort numerically), money rounded."""
    out = df.copy()
    for c in out.columns:
        if c in RATE_COLS:
            out[c.replace("_rate", "") + "_pct" if c.endswith("_rate") else c + "_pct"] = (
                out.pop(c).astype(float) * 100).round(2)
        elif c in ("revenue", "aov", "value"):
            out[c] = out[c].astype(float).round(2)
    return out


def _table_card(name: str, chart: str | None = None) -> Tag:
    q = Q.QUERIES[name]
    return ui.card(
        ui.card_header(q.title, ui.download_button(f"dl_{name}", "CSV", class_="btn-sm float-end")),
        *([ui.output_plot(chart, height="300px")] if chart else []),
        ui.output_data_frame(f"tbl_{name}"),
    )


def _page(key: str, *children: Tag) -> Tag:
    label, applies = PAGES[key]
    return ui.nav_panel(label, ui.p(ui.em(f"Filters used here: {applies}."), class_="text-muted"),
                        *children, value=key)


# -- UI -----------------------------------------------------------------------------------------
def _choices(conn: psycopg.Connection | None) -> tuple[date, date, list[str], list[str]]:
    """Filter choices from the warehouse; sensible fallbacks when it is unreachable."""
    today = date.today()
    if conn is None:
        return today - timedelta(days=29), today, [], []
    b = Q.run(conn, "date_bounds").iloc[0]
    first, last = b["first_day"] or today, b["last_day"] or today
    return (first, last, list(Q.run(conn, "devices")["device_category"]),
            list(Q.run(conn, "categories")["item_category"]))


def app_ui(request) -> Tag:
    """Built per request so the date range opens on the days the warehouse has."""
    try:
        with Q.connect() as conn:
            first, last, devices, categories = _choices(conn)
        db_error = None
    except (psycopg.Error, OSError) as exc:
        log.warning("warehouse unreachable while building the UI: %s", exc)
        first, last, devices, categories = _choices(None)
        db_error = "The warehouse is unreachable; figures will appear when it answers."
    sidebar = ui.sidebar(
        ui.input_date_range("dates", "Date range (UTC)", start=first, end=last),
        ui.input_select("device", "Device", {"all": "All devices", **{d: d for d in devices}}),
        ui.input_select("category", "Category",
                        {"all": "All categories", **{c: c for c in categories}}),
        ui.output_ui("filter_status"),
        ui.p(f"Data from {first} to {last}.", class_="small text-muted"),
        *([ui.p(db_error, class_="text-danger")] if db_error else []),
        width=270,
    )
    return ui.page_navbar(
        _page("overview", ui.output_ui("kpis"),
              ui.card(ui.card_header("By day"), ui.output_plot("chart_daily_overview", height="300px")),
              _table_card("overview")),
        _page("funnel", ui.output_ui("funnel_steps"), _table_card("funnel", "chart_funnel"),
              _table_card("funnel_by_device"), _table_card("funnel_by_category")),
        _page("products", _table_card("products", "chart_products"), _table_card("top_products")),
        _page("trends", ui.card(ui.card_header("By day"), ui.output_plot("chart_daily", height="300px")),
              ui.card(ui.card_header("By hour"), ui.output_plot("chart_hourly", height="300px")),
              _table_card("hour_of_week", "chart_heatmap"),
              _table_card("trends_daily"), _table_card("trends_hourly")),
        _page("acquisition", _table_card("acquisition_referrer", "chart_acquisition"),
              _table_card("acquisition_utm")),
        _page("health", ui.output_ui("health_boxes"), _table_card("rejects_by_reason"),
              _table_card("loads_daily", "chart_loads"), _table_card("load_identity_daily"),
              _table_card("failed_files")),
        title="Clickstream dashboards",
        id="page",
        sidebar=sidebar,
        fillable=False,
    )


# -- server -------------------------------------------------------------------------------------
def server(input: Inputs, output: Outputs, session: Session) -> None:
    state: dict[str, psycopg.Connection | None] = {"conn": None}

    def db(name: str, f: Q.Filters | None) -> pd.DataFrame:
        """Run a query on this session's connection, reconnecting once if it broke."""
        for attempt in (1, 2):
            conn = state["conn"]
            if conn is None or conn.closed:
                conn = state["conn"] = Q.connect()
            try:
                return Q.run(conn, name, f)
            except psycopg.OperationalError:
                conn.close()
                state["conn"] = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @session.on_ended
    def _close() -> None:
        if state["conn"] is not None:
            state["conn"].close()

    @reactive.calc
    def filters() -> Q.Filters | str:
        dates = input.dates() or (None, None)
        try:
            return Q.Filters(dates[0], dates[1], input.device(), input.category())
        except Q.FilterError as exc:
            return str(exc)

    def valid_filters() -> Q.Filters:
        f = filters()
        req(isinstance(f, Q.Filters))
        return f  # type: ignore[return-value]

    @render.ui
    def filter_status() -> Tag | None:
        f = filters()
        return ui.p(f"Filter refused: {f}", class_="text-danger") if isinstance(f, str) else None

    def make_calc(name: str) -> Callable[[], pd.DataFrame]:
        filtered = bool(Q.QUERIES[name].uses)

        @reactive.calc
        def _calc() -> pd.DataFrame:
            if not filtered:
                reactive.invalidate_later(60)  # health figures move with the pipeline, not filters
            return db(name, valid_filters() if filtered else None)

        return _calc

    data = {name: make_calc(name) for name, _page in TABLES}
    data["health"] = make_calc("health")

    def register_table(name: str) -> None:
        @output(id=f"tbl_{name}")
        @render.data_frame
        def _tbl():
            return render.DataGrid(display(data[name]()), width="100%", height="auto")

        @output(id=f"dl_{name}")
        @render.download(filename=lambda: f"{name}.csv", media_type="text/csv")
        def _dl():
            buf = io.StringIO()
            data[name]().to_csv(buf, index=False)
            yield buf.getvalue()

    for name, _page in TABLES:
        register_table(name)

    @render.ui
    def kpis() -> Tag:
        figs = Q.overview_figures(data["overview"]())
        boxes = []
        for _, r in figs.iterrows():
            m = r["metric"]
            cur = None if r["current"] != r["current"] else r["current"]
            boxes.append(ui.value_box(
                r["label"],
                ui.span(fmt(m, cur), id=f"kpi-{m}", **{"data-value": "" if cur is None else repr(cur)}),
                ui.span(fmt_change(r["change"]), id=f"kpi-{m}-change"),
            ))
        return ui.layout_column_wrap(*boxes, width=1 / 3)

    @render.ui
    def funnel_steps() -> Tag:
        df = data["funnel"]()
        return ui.layout_column_wrap(*[
            ui.value_box(r["step"], ui.span(f"{r['sessions']:,}", id=f"funnel-{r['step']}",
                                            **{"data-value": str(int(r["sessions"]))}),
                         ui.span(f"overall {fmt('overall_conversion', r['overall_conversion'])}"))
            for _, r in df.iterrows()], width=1 / 5)

    @render.ui
    def health_boxes() -> Tag:
        h = data["health"]().iloc[0]

        def ago(seconds: float | None) -> str:
            if seconds is None or seconds != seconds:
                return "never"
            s = int(seconds)
            return f"{s // 86400}d {s % 86400 // 3600}h {s % 3600 // 60}m ago"

        items = [
            ("Last successful load", str(h["last_load_at"]), ago(h["since_last_load_seconds"]), "last-load"),
            ("Newest event", str(h["newest_event_at"]), f"freshness: {ago(h['freshness_seconds'])}", "freshness"),
            ("Files loaded", f"{h['files_loaded']:,}", f"{h['files_failed']:,} failed", "files"),
            ("Events loaded", f"{h['events_loaded']:,}", f"{h['duplicates']:,} duplicates dropped", "events"),
            ("Rejected events", f"{h['rejected']:,}", "see reasons below", "rejected"),
            ("Days awaiting refresh", f"{h['days_pending_refresh']:,}", "rollups behind the facts", "pending"),
        ]
        return ui.layout_column_wrap(*[
            ui.value_box(t, ui.span(v, id=f"health-{k}"), ui.span(sub)) for t, v, sub, k in items
        ], width=1 / 3)

    @render.plot(alt="Sessions and revenue by day")
    def chart_daily_overview():
        return charts.daily(data["trends_daily"]())

    @render.plot(alt="Sessions and revenue by day")
    def chart_daily():
        return charts.daily(data["trends_daily"]())

    @render.plot(alt="Funnel")
    def chart_funnel():
        return charts.funnel(data["funnel"]())

    @render.plot(alt="Top products by revenue")
    def chart_products():
        return charts.top_products(data["products"]())

    @render.plot(alt="Events by hour")
    def chart_hourly():
        return charts.hourly(data["trends_hourly"]())

    @render.plot(alt="Hour-of-week heat map")
    def chart_heatmap():
        return charts.heatmap(data["hour_of_week"]())

    @render.plot(alt="Sessions by referrer")
    def chart_acquisition():
        return charts.acquisition(data["acquisition_referrer"]())

    @render.plot(alt="Events loaded per day")
    def chart_loads():
        return charts.loads(data["loads_daily"]())
