"""The running dashboards in the system Chromium show what SQL says.

One app process (``python -m shiny_app``, bound to 127.0.0.1, connected as a ``dw_reader``
login) serves a warehouse loaded through the ETL with generated traffic. The tests read the
headline numbers and the funnel from the page, switch the device filter and see the numbers
move to the filtered SQL answer, download every table's CSV, and save a screenshot of each
page to ``reports/screenshots/<page>.png`` (referenced from the README). The app's process
group is stopped at the end and checked gone.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from clickstream import REPO_ROOT
from clickstream.net import free_port, port_open, wait_for_port
from shiny_app import queries as Q
from shiny_app.pages import PAGES, TABLES, fmt
from tests.e2e.dashboards import dashdata

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
SHOTS = REPO_ROOT / "reports" / "screenshots"
ROLE = f"dash_browser_{os.getpid()}"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def reader(pg_server, pg_dsn) -> Iterator[str]:
    dashdata.load_warehouse(pg_dsn)
    dbname = pg_dsn.rsplit("/", 1)[-1].split("?")[0]
    yield dashdata.reader_dsn(pg_server, dbname, ROLE)
    dashdata.drop_role(pg_server, ROLE)


@pytest.fixture(scope="module")
def app_url(reader) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "DASHBOARD_DSN": reader, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "shiny_app", "--port", str(port)], cwd=REPO_ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port("127.0.0.1", port, timeout=60)
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the group we started (start_new_session)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
        assert proc.returncode is not None
        assert not port_open("127.0.0.1", port), "the app still listens after stop"
        with pytest.raises(ProcessLookupError):
            os.killpg(proc.pid, 0)  # nothing of the group is left
        assert "Traceback" not in out, out[-3000:]


@pytest.fixture(scope="module")
def sql(reader):
    with Q.connect(reader) as conn:
        b = Q.run(conn, "date_bounds").iloc[0]
        yield conn, b["first_day"], b["last_day"]


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
        pg = ctx.new_page()
        pg.set_default_timeout(TIMEOUT_MS)
        pg.goto(app_url)
        yield pg
        ctx.close()
        browser.close()


def _value(page, selector: str) -> str:
    page.wait_for_selector(selector, state="attached")
    return page.get_attribute(selector, "data-value")


def _wait_value(page, selector: str, expected: str) -> None:
    page.wait_for_function(
        "([s, v]) => { const e = document.querySelector(s); return e && e.dataset.value === v; }",
        arg=[selector, expected], timeout=TIMEOUT_MS)


def _open(page, key: str) -> None:
    page.get_by_role("tab", name=PAGES[key][0]).click()
    page.wait_for_selector(f".tab-pane[data-value='{key}'].active", state="attached")


def test_headline_numbers_equal_sql(page, sql):
    conn, first, last = sql
    figs = Q.overview_figures(Q.run(conn, "overview", Q.Filters(first, last))).set_index("metric")
    assert figs.loc["sessions", "current"] > 0
    for metric, _label in Q.OVERVIEW_METRICS:
        want = figs.loc[metric, "current"]
        _wait_value(page, f"#kpi-{metric}", repr(float(want)))
        assert page.inner_text(f"#kpi-{metric}") == fmt(metric, float(want))


def test_funnel_counts_equal_sql(page, sql):
    conn, first, last = sql
    _open(page, "funnel")
    df = Q.run(conn, "funnel", Q.Filters(first, last))
    assert df["sessions"].iloc[0] > df["sessions"].iloc[-1] > 0
    for _, r in df.iterrows():
        _wait_value(page, f"#funnel-{r['step']}", str(int(r["sessions"])))


def test_switching_the_device_filter_changes_the_numbers(page, sql):
    conn, first, last = sql
    _open(page, "overview")
    before = _value(page, "#kpi-sessions")
    mobile = Q.run(conn, "overview", Q.Filters(first, last, "mobile")).iloc[0]
    page.select_option("#device", "mobile")
    _wait_value(page, "#kpi-sessions", repr(float(mobile["sessions"])))
    assert float(before) > float(mobile["sessions"]) > 0
    _open(page, "funnel")
    fun = Q.run(conn, "funnel", Q.Filters(first, last, "mobile"))
    _wait_value(page, "#funnel-purchase", str(int(fun["sessions"].iloc[-1])))
    page.select_option("#device", "all")
    _open(page, "overview")
    _wait_value(page, "#kpi-sessions", before)


def test_every_page_renders_downloads_its_tables_and_is_screenshotted(page, sql):
    conn, first, last = sql
    SHOTS.mkdir(parents=True, exist_ok=True)
    f = Q.Filters(first, last)
    for key in PAGES:
        _open(page, key)
        pane = f".tab-pane[data-value='{key}']"
        names = [n for n, p in TABLES if p == key]
        for name in names:
            want = Q.run(conn, name, f if Q.QUERIES[name].uses else None)
            if not want.empty:
                page.wait_for_selector(f"#tbl_{name} tbody tr", state="visible")
            with page.expect_download() as dl:
                page.click(f"#dl_{name}")
            got = pd.read_csv(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8")))
            assert list(got.columns) == list(want.columns), name
            assert len(got) == len(want), name
            if "sessions" in want.columns:
                assert got["sessions"].sum() == want["sessions"].sum(), name
        for img in page.locator(f"{pane} .shiny-plot-output").all():
            img.locator("img").wait_for(state="visible")
        page.wait_for_function(
            "(p) => !document.querySelector(p + ' .recalculating')", arg=pane)
        path = SHOTS / f"{key}.png"
        # The main area scrolls inside a fixed-height layout: grow the viewport to its
        # height so the screenshot holds the whole page, then restore it.
        height = page.evaluate(
            "() => { const m = document.querySelector('.bslib-page-main, main');"
            " if (m) m.scrollTop = 0; return m ? m.scrollHeight + 80 : 1000; }")
        page.set_viewport_size({"width": 1440, "height": min(max(height, 1000), 8000)})
        page.wait_for_function("(p) => !document.querySelector(p + ' .recalculating')", arg=pane)
        page.screenshot(path=str(path), full_page=True)
        page.set_viewport_size({"width": 1440, "height": 1000})
        assert path.stat().st_size > 20_000, key
