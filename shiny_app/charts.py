"""Matplotlib figures for the pages (rendered server-side to PNG by ``render.plot``).

Server-side images keep the browser free of a JavaScript charting stack and make the
screenshots deterministic; every figure also has its table with a CSV download.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _empty(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"No {what} in this range", ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def daily(df: pd.DataFrame) -> Figure:
    """Sessions (bars) and revenue (line) per day."""
    fig, ax = plt.subplots(figsize=(9, 3.2))
    if df.empty:
        _empty(ax, "days")
        return fig
    x = pd.to_datetime(df["day"])
    ax.bar(x, df["sessions"], color="#4c78a8", label="sessions")
    ax.set_ylabel("sessions")
    ax2 = ax.twinx()
    ax2.plot(x, df["revenue"], color="#f58518", marker="o", label="revenue")
    ax2.set_ylabel("revenue")
    ax.set_title("Sessions and revenue by day (UTC)")
    fig.autofmt_xdate()
    return fig


def funnel(df: pd.DataFrame) -> Figure:
    fig, ax = plt.subplots(figsize=(9, 3.2))
    if df.empty or df["sessions"].sum() == 0:
        _empty(ax, "funnel sessions")
        return fig
    steps = df["step"][::-1]
    vals = df["sessions"][::-1]
    ax.barh(steps, vals, color="#54a24b")
    for y, v, r in zip(range(len(vals)), vals, df["overall_conversion"][::-1], strict=True):
        ax.text(v, y, f" {v:,} ({r:.1%})" if r == r else f" {v:,}", va="center")
    ax.set_xlabel("sessions")
    ax.set_title("Sessions reaching each step")
    return fig


def top_products(df: pd.DataFrame, n: int = 10) -> Figure:
    fig, ax = plt.subplots(figsize=(9, 3.6))
    top = df.nlargest(n, "revenue") if not df.empty else df
    if top.empty:
        _empty(ax, "products")
        return fig
    ax.barh(top["item_name"].fillna(top["item_id"])[::-1], top["revenue"][::-1], color="#4c78a8")
    ax.set_xlabel("revenue")
    ax.set_title(f"Top {len(top)} products by revenue")
    return fig


def hourly(df: pd.DataFrame) -> Figure:
    fig, ax = plt.subplots(figsize=(9, 3))
    if df.empty:
        _empty(ax, "hours")
        return fig
    ax.plot(pd.to_datetime(df["hour"], utc=True), df["events"], color="#4c78a8", label="events")
    ax.plot(pd.to_datetime(df["hour"], utc=True), df["sessions"], color="#e45756", label="sessions")
    ax.legend(loc="upper left")
    ax.set_title("Events and sessions by hour (UTC)")
    fig.autofmt_xdate()
    return fig


def heatmap(df: pd.DataFrame, measure: str = "events") -> Figure:
    """7 x 24 grid of ``measure`` by ISO weekday and hour of day."""
    fig, ax = plt.subplots(figsize=(9, 3.2))
    grid = np.zeros((7, 24))
    for _, r in df.iterrows():
        grid[int(r["iso_dow"]) - 1, int(r["hour_of_day"])] = r[measure]
    im = ax.imshow(grid, aspect="auto", cmap="viridis")
    ax.set_yticks(range(7), DAYS)
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlabel("hour of day (UTC)")
    ax.set_title(f"{measure.capitalize()} by hour of week")
    fig.colorbar(im, ax=ax)
    return fig


def acquisition(df: pd.DataFrame) -> Figure:
    fig, ax = plt.subplots(figsize=(9, 3.2))
    if df.empty:
        _empty(ax, "sessions")
        return fig
    top = df.head(10)
    ax.bar(top["referrer_domain"], top["sessions"], color="#72b7b2")
    ax2 = ax.twinx()
    ax2.plot(top["referrer_domain"], top["conversion_rate"] * 100, color="#f58518", marker="o")
    ax2.set_ylabel("conversion %")
    ax.set_ylabel("sessions")
    ax.set_title("Sessions and conversion by referrer")
    ax.tick_params(axis="x", rotation=20)
    return fig


def loads(df: pd.DataFrame) -> Figure:
    fig, ax = plt.subplots(figsize=(9, 2.8))
    if df.empty:
        _empty(ax, "loads")
        return fig
    d = df.sort_values("dt")
    ax.bar(pd.to_datetime(d["dt"]), d["events_loaded"], color="#4c78a8", label="events loaded")
    ax.bar(pd.to_datetime(d["dt"]), d["rejected"], color="#e45756", label="rejected")
    ax.legend(loc="upper left")
    ax.set_title("Events loaded per raw partition day")
    fig.autofmt_xdate()
    return fig
