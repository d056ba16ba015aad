"""The six pages: their UI layout and how figures are formatted; :mod:`shiny_app.server` fills them
from :mod:`shiny_app.queries`.

Each table is the rows of one named query (rates shown as percentages) with a CSV download
of the query's exact output; each headline number carries its raw value in a ``data-value``
attribute so the browser test compares it with SQL without parsing formatted text.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pandas as pd
import psycopg
from htmltools import Tag
from shiny import ui

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


def app_ui(_request: object) -> Tag:
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
