"""The server that fills the pages of :mod:`shiny_app.pages`: one function per page.

:func:`server` sets up what every page shares (the session's warehouse connection, the
filters, one reactive calc per named query, the table and CSV outputs of :data:`TABLES`) and
then calls each page's function, which adds that page's headline boxes and charts. A page's
outputs are registered with the session the moment its function runs, as with any output
defined inside a Shiny server function.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pandas as pd
import psycopg
from htmltools import Tag
from shiny import Inputs, Outputs, Session, reactive, render, req, ui

from shiny_app import charts
from shiny_app import queries as Q
from shiny_app.pages import TABLES, display, fmt, fmt_change

#: The reactive calc of each named query, by name.
Data = dict[str, Callable[[], pd.DataFrame]]


class Warehouse:
    """This session's connection, opened on first use and reopened once if it broke."""

    def __init__(self) -> None:
        self.conn: psycopg.Connection | None = None

    def query(self, name: str, f: Q.Filters | None) -> pd.DataFrame:
        for attempt in (1, 2):
            if self.conn is None or self.conn.closed:
                self.conn = Q.connect()
            try:
                return Q.run(self.conn, name, f)
            except psycopg.OperationalError:
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def _query_calcs(wh: Warehouse, valid_filters: Callable[[], Q.Filters]) -> Data:
    """One reactive calc per query: filtered ones follow the filters, the others (health)
    refresh every minute, since they move with the pipeline."""

    def make_calc(name: str) -> Callable[[], pd.DataFrame]:
        filtered = bool(Q.QUERIES[name].uses)

        @reactive.calc
        def _calc() -> pd.DataFrame:
            if not filtered:
                reactive.invalidate_later(60)
            return wh.query(name, valid_filters() if filtered else None)

        return _calc

    data = {name: make_calc(name) for name, _page in TABLES}
    data["health"] = make_calc("health")
    return data


def _table_outputs(output: Outputs, name: str, data: Data) -> None:
    """The table of query ``name`` and its CSV download (the query's exact output)."""

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


def server(input: Inputs, output: Outputs, session: Session) -> None:
    wh = Warehouse()
    session.on_ended(wh.close)

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

    data = _query_calcs(wh, valid_filters)
    for name, _page in TABLES:
        _table_outputs(output, name, data)
    for page in (overview, funnel, products, trends, acquisition, health):
        page(data)


# -- one function per page ----------------------------------------------------------------------
def overview(data: Data) -> None:
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

    @render.plot(alt="Sessions and revenue by day")
    def chart_daily_overview():
        return charts.daily(data["trends_daily"]())


def funnel(data: Data) -> None:
    @render.ui
    def funnel_steps() -> Tag:
        df = data["funnel"]()
        return ui.layout_column_wrap(*[
            ui.value_box(r["step"], ui.span(f"{r['sessions']:,}", id=f"funnel-{r['step']}",
                                            **{"data-value": str(int(r["sessions"]))}),
                         ui.span(f"overall {fmt('overall_conversion', r['overall_conversion'])}"))
            for _, r in df.iterrows()], width=1 / 5)

    @render.plot(alt="Funnel")
    def chart_funnel():
        return charts.funnel(data["funnel"]())


def products(data: Data) -> None:
    @render.plot(alt="Top products by revenue")
    def chart_products():
        return charts.top_products(data["products"]())


def trends(data: Data) -> None:
    @render.plot(alt="Sessions and revenue by day")
    def chart_daily():
        return charts.daily(data["trends_daily"]())

    @render.plot(alt="Events by hour")
    def chart_hourly():
        return charts.hourly(data["trends_hourly"]())

    @render.plot(alt="Hour-of-week heat map")
    def chart_heatmap():
        return charts.heatmap(data["hour_of_week"]())


def acquisition(data: Data) -> None:
    @render.plot(alt="Sessions by referrer")
    def chart_acquisition():
        return charts.acquisition(data["acquisition_referrer"]())


def _ago(seconds: float | None) -> str:
    if seconds is None or seconds != seconds:
        return "never"
    s = int(seconds)
    return f"{s // 86400}d {s % 86400 // 3600}h {s % 3600 // 60}m ago"


def health(data: Data) -> None:
    @render.ui
    def health_boxes() -> Tag:
        h = data["health"]().iloc[0]
        items = [
            ("Last successful load", str(h["last_load_at"]), _ago(h["since_last_load_seconds"]), "last-load"),
            ("Newest event", str(h["newest_event_at"]), f"freshness: {_ago(h['freshness_seconds'])}", "freshness"),
            ("Files loaded", f"{h['files_loaded']:,}", f"{h['files_failed']:,} failed", "files"),
            ("Events loaded", f"{h['events_loaded']:,}", f"{h['duplicates']:,} duplicates dropped", "events"),
            ("Rejected events", f"{h['rejected']:,}", "see reasons below", "rejected"),
            ("Days awaiting refresh", f"{h['days_pending_refresh']:,}", "rollups behind the facts", "pending"),
        ]
        return ui.layout_column_wrap(*[
            ui.value_box(t, ui.span(v, id=f"health-{k}"), ui.span(sub)) for t, v, sub, k in items
        ], width=1 / 3)

    @render.plot(alt="Events loaded per day")
    def chart_loads():
        return charts.loads(data["loads_daily"]())
