"""A warehouse loaded through the real ETL with generated traffic, and the truth about it.

The load path is the ETL's own (``etl.parsing.parse_object`` -> ``etl.loading.load_batch``
-> ``refresh_dirty_days``) on the generator's raw objects, without S3 in between: the
dashboards are under test here, not the listing code.

The truth is computed in plain Python from the generator's deliveries (the events as the
tracker sent them, device taken from the generator's own user-agent classes), never from
the warehouse, so a wrong rollup, view or dashboard query shows up as a mismatch. The
definitions mirror what each page states: per-day distinct counts summed over days, bots
excluded, purchases de-duplicated by transaction id (earliest event wins).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import psycopg

from clickstream import traffic
from clickstream.warehouse import migrate

CFG = traffic.TrafficConfig(seed=7, events=8_000, start=date(2024, 6, 3), days=4)
STEPS = ("view_item", "add_to_cart", "begin_checkout", "add_payment_info", "purchase")


def load_warehouse(dsn: str, cfg: traffic.TrafficConfig = CFG, *, migrated: bool = False) -> None:
    """Migrate ``dsn`` (unless a host bootstrap already did) and load the generated lake into
    it the way the ETL does."""
    from etl import loading
    from etl.parsing import parse_object

    if not migrated:
        migrate(dsn)
    objs, _ = traffic.generate(cfg)
    with psycopg.connect(dsn) as conn:
        loading.prepare(conn)
        batch = []
        for o in sorted(objs, key=lambda o: o.key):
            kind = "rejected" if "/rejected/" in o.key else "events"
            dt = date.fromisoformat(re.search(r"dt=(\d{4}-\d{2}-\d{2})", o.key).group(1))
            batch.append(parse_object(
                o.key, kind, dt, f'"{hash(o.body) & 0xFFFFFFFF:08x}"', len(o.body), [o.body],
                max_decompressed=64 << 20, max_line=256 << 10,
                max_late=timedelta(days=30), max_future=timedelta(days=1)))
            if len(batch) >= 200:
                loading.load_batch(conn, batch)
                batch = []
        if batch:
            loading.load_batch(conn, batch)
        loading.refresh_dirty_days(conn)


def reader_dsn(pg_server, dbname: str, role: str) -> str:
    """A login role that is only a member of ``dw_reader`` (what the app runs as)."""
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if not exists:
            conn.execute(f'CREATE ROLE "{role}" LOGIN IN ROLE dw_reader')
    return pg_server.dsn(dbname, user=role)


def drop_role(pg_server, role: str) -> None:
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')


# -- truth ------------------------------------------------------------------------------------
def _domain(url: str | None) -> str:
    if not url:
        return "(direct)"
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or "(direct)"


@dataclass
class Truth:
    """Aggregates of the generated traffic, keyed the way the pages slice them."""

    # (day, device) -> counters
    day_dev: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))
    # (day, device, category or "(all)") -> step -> sessions set
    funnel: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    # (day, item_id) -> counters
    product: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))
    item_category: dict = field(default_factory=dict)
    item_name: dict = field(default_factory=dict)
    # hour (datetime) -> counters
    hourly: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))
    # session_id -> attributes
    sessions: dict = field(default_factory=dict)
    newest_event: datetime | None = None
    objects: int = 0
    unique_events: int = 0
    rejected: int = 0
    ingest_reasons: dict = field(default_factory=lambda: defaultdict(int))
    generator: traffic.Truth | None = None

    # ----- figures over a filter (what a page shows) -----
    def overview(self, start: date, end: date, device: str | None = None) -> dict:
        acc: dict[str, float] = defaultdict(float)
        for (day, dev), c in self.day_dev.items():
            if start <= day <= end and (device is None or dev == device):
                for k, v in c.items():
                    acc[k] += v
        s, o = acc["sessions"], acc["orders"]
        return {"sessions": s, "users": acc["visitors"], "page_views": acc["page_views"],
                "events": acc["events"], "converting_sessions": acc["converting_sessions"],
                "orders": o, "revenue": round(acc["revenue"], 2),
                "conversion_rate": acc["converting_sessions"] / s if s else None,
                "aov": acc["revenue"] / o if o else None}

    def funnel_counts(self, start: date, end: date, device: str | None = None,
                      category: str | None = None) -> dict[str, int]:
        cat = category or "(all)"
        out = dict.fromkeys(("sessions", *STEPS), 0)
        for (day, dev, c), steps in self.funnel.items():
            if start <= day <= end and (device is None or dev == device) and c == cat:
                for k in out:
                    out[k] += len(steps.get(k, ()))
        return out

    def funnel_by(self, key: str, start: date, end: date, device: str | None = None,
                  category: str | None = None) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(("sessions", *STEPS), 0))
        for (day, dev, c), steps in self.funnel.items():
            if not (start <= day <= end) or (device is not None and dev != device):
                continue
            if key == "device" and c != (category or "(all)"):
                continue
            if key == "category" and (c == "(all)" or (category is not None and c != category)):
                continue
            row = out[dev if key == "device" else c]
            for k in row:
                row[k] += len(steps.get(k, ()))
        return dict(out)

    def products(self, start: date, end: date, category: str | None = None) -> dict[str, dict]:
        out: dict[str, dict] = defaultdict(lambda: defaultdict(float))
        for (day, item), c in self.product.items():
            if start <= day <= end and (category is None or self.item_category[item] == category):
                for k, v in c.items():
                    out[item][k] += v
        return {k: dict(v) for k, v in out.items()}

    def hourly_in(self, start: date, end: date) -> dict[datetime, dict]:
        return {h: dict(c) for h, c in self.hourly.items() if start <= h.date() <= end}

    def acquisition(self, by: tuple[str, ...], start: date, end: date,
                    device: str | None = None) -> dict[tuple, dict]:
        out: dict[tuple, dict] = defaultdict(lambda: defaultdict(float))
        for s in self.sessions.values():
            if s["bot"] or not (start <= s["day"] <= end) or (device is not None and s["device"] != device):
                continue
            row = out[tuple(s[k] for k in by)]
            row["sessions"] += 1
            row["converting_sessions"] += bool(s["orders"])
            row["orders"] += s["orders"]
            row["revenue"] += s["revenue"]
        return {k: dict(v) for k, v in out.items()}


def _ts(ev: dict) -> datetime:
    return datetime.fromisoformat(ev["event_ts"])


def _unique_events(cfg: traffic.TrafficConfig, t: Truth) -> list[tuple[dict, str]]:
    """Every delivered event once (first delivery wins) with its device; ingest rejects counted."""
    device_of_ua = {ua: dev for dev, uas in traffic.USER_AGENTS.items() for ua in uas}
    seen: set[str] = set()
    events: list[tuple[dict, str]] = []
    for d in traffic.deliveries(cfg, traffic.Truth()):
        dev = device_of_ua[d.user_agent]
        for ev in d.events:
            if ev["event_id"] not in seen:
                seen.add(ev["event_id"])
                events.append((ev, dev))
        for reason, _ev in d.invalid:
            t.ingest_reasons[reason.split(":", 1)[0]] += 1
    return events


def _first_purchases(events: list[tuple[dict, str]]) -> dict[str, tuple[dict, str]]:
    """Purchases de-duplicated by transaction id, earliest event wins (bots excluded)."""
    first_purchase: dict[str, tuple[dict, str]] = {}
    for ev, dev in events:
        if ev["event_name"] == "purchase" and dev != "bot":
            tid = ev.get("transaction_id") or f"event:{ev['event_id']}"
            cur = first_purchase.get(tid)
            if cur is None or (_ts(ev), ev["event_id"]) < (_ts(cur[0]), cur[0]["event_id"]):
                first_purchase[tid] = (ev, dev)
    return first_purchase


def _note_session(t: Truth, ev: dict, dev: str, when: datetime) -> None:
    """A session's attributes come from its first event (by time, then event id)."""
    sid = ev["session_id"]
    s = t.sessions.get(sid)
    key = (when, ev["event_id"])
    if s is None or key < s["first"]:
        page = ev.get("page") or {}
        t.sessions[sid] = {
            **(s or {"orders": 0, "revenue": 0.0}), "first": key, "day": when.date(),
            "device": dev, "bot": dev == "bot",
            "referrer_domain": _domain(page.get("referrer")),
            "utm_source": ev.get("utm_source") or "(none)",
            "utm_medium": ev.get("utm_medium") or "(none)",
            "utm_campaign": ev.get("utm_campaign") or "(none)"}


def _count_event(t: Truth, ev: dict, dev: str, when: datetime, day_sets: dict, hour_sets: dict) -> None:
    """A human event's share of the daily, hourly, funnel and product figures."""
    sid, day, name = ev["session_id"], when.date(), ev["event_name"]
    c = t.day_dev[(day, dev)]
    c["events"] += 1
    c["page_views"] += name == "page_view"
    day_sets[(day, dev)]["sessions"].add(sid)
    day_sets[(day, dev)]["visitors"].add(ev["anonymous_id"])
    hour = when.replace(minute=0, second=0, microsecond=0)
    h = t.hourly[hour]
    h["events"] += 1
    h["page_views"] += name == "page_view"
    hour_sets[hour].add(sid)
    cats = {"(all)"} | {i.get("item_category") or "(unknown)" for i in ev.get("items") or ()}
    for cat in cats:
        f = t.funnel[(day, dev, cat)]
        f["sessions"].add(sid)
        if name in STEPS:
            f[name].add(sid)
    for item in ev.get("items") or ():
        iid = item["item_id"]
        t.item_category[iid] = item.get("item_category")
        t.item_name[iid] = item.get("item_name")
        p = t.product[(day, iid)]
        if name == "view_item":
            p["views"] += 1
        elif name == "add_to_cart":
            p["add_to_carts"] += 1


def _count_purchase(t: Truth, ev: dict, dev: str, day_sets: dict) -> None:
    """One de-duplicated order: revenue by day, hour, session and product."""
    when = _ts(ev)
    day = when.date()
    value = float(ev.get("value") or 0)
    c = t.day_dev[(day, dev)]
    c["orders"] += 1
    c["revenue"] += value
    day_sets[(day, dev)]["converting"].add(ev["session_id"])
    h = t.hourly[when.replace(minute=0, second=0, microsecond=0)]
    h["orders"] += 1
    h["revenue"] += value
    s = t.sessions[ev["session_id"]]
    s["orders"] += 1
    s["revenue"] += value
    for iid in {item["item_id"] for item in ev.get("items") or ()}:
        t.product[(day, iid)]["purchases"] += 1  # orders containing the item
    for item in ev.get("items") or ():
        p = t.product[(day, item["item_id"])]
        qty = item.get("quantity") or 1
        p["units"] += qty
        p["revenue"] += float(item.get("price") or 0) * qty


def compute_truth(cfg: traffic.TrafficConfig = CFG) -> Truth:
    """Walk the generator's deliveries and aggregate what a correct warehouse must show."""
    t = Truth()
    events = _unique_events(cfg, t)
    objs, gt2 = traffic.generate(cfg)
    t.objects = len(objs)
    t.generator = gt2
    t.unique_events = len(events)
    t.rejected = gt2.rejected

    day_sets: dict = defaultdict(lambda: defaultdict(set))
    hour_sets: dict = defaultdict(set)
    for ev, dev in events:
        when = _ts(ev)
        t.newest_event = max(t.newest_event or when, when)
        _note_session(t, ev, dev, when)
        if dev != "bot":
            _count_event(t, ev, dev, when, day_sets, hour_sets)
    for ev, dev in _first_purchases(events).values():
        _count_purchase(t, ev, dev, day_sets)
    for key, sets in day_sets.items():
        t.day_dev[key]["sessions"] = len(sets["sessions"])
        t.day_dev[key]["visitors"] = len(sets["visitors"])
        t.day_dev[key]["converting_sessions"] = len(sets["converting"])
    for hour, sids in hour_sets.items():
        t.hourly[hour]["sessions"] = len(sids)
    return t
