"""Deterministic synthetic shop traffic, written to the raw lake exactly as ingest would.

The generator simulates shoppers of a computer-products shop: sessions arriving on a
diurnal curve, landing from search engines, social, newsletters or direct, browsing lists
and products, adding to carts, abandoning checkouts, purchasing (sometimes reloading the
thank-you page, which sends a second purchase event for the same transaction), plus bots
crawling product pages. Delivery faults are generated on purpose: retried requests
(duplicate deliveries of the same events), offline clients whose events arrive days late,
events the ingest Lambda rejects (written to the ``rejected/`` prefix) and malformed lines
that only the ETL can catch. :class:`Truth` holds the exact aggregates that were generated,
so tests compare the warehouse with what was really sent.

Layering, so issue 9 can send the same traffic through the HTTP API: :func:`deliveries`
yields :class:`Delivery` objects (one tracker request: app id, sent_at, events, plus the
events the ingest would refuse); :func:`raw_objects` turns them into gzip JSONL objects in
the ingest format; :func:`write_to_s3` puts them. An HTTP sink would POST
``{"app_id", "sent_at", "events": valid + invalid}`` per delivery instead. Object keys come
from the lake's one key layout (:mod:`common.lake`, shared with ingest and the ETL); the shop's
data (catalogue, channels, user agents, faults) is in :mod:`clickstream.shop`.

Same seed, same config, same bytes: every random choice comes from one ``random.Random``.
"""

from __future__ import annotations

import bisect
import gzip
import random
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

import orjson
from common import lake

from clickstream.shop import (
    CATEGORIES,
    CHANNELS,
    DEVICE_WEIGHTS,
    HOUR_WEIGHTS,
    INGEST_REJECT_REASONS,
    MALFORMED_LINES,
    SEARCH_TERMS,
    SHOP,
    USER_AGENTS,
)

APP_ID = "shop-web"
__all__ = ["APP_ID", "CATEGORIES", "USER_AGENTS", "Delivery", "RawObject", "TrafficConfig", "Truth", "deliveries",
           "generate", "generate_to_s3", "raw_objects", "write_to_s3"]


@dataclass(frozen=True)
class TrafficConfig:
    """Knobs of the generator; the defaults give realistic rates."""

    seed: int = 42
    events: int = 10_000
    start: date = date(2024, 6, 3)
    days: int = 1
    events_per_object: int = 25
    duplicate_rate: float = 0.01
    late_rate: float = 0.005
    late_days: tuple[int, int] = (1, 4)
    malformed_rate: float = 0.001
    ingest_reject_rate: float = 0.002
    bot_share: float = 0.03
    thank_you_reload_rate: float = 0.05
    app_id: str = APP_ID
    raw_prefix: str = lake.DEFAULT_PREFIX
    gzip_level: int = 1


@dataclass
class Truth:
    """Exactly what was generated (what a correct warehouse must contain)."""

    lines_sent: int = 0
    unique_events: int = 0
    duplicate_deliveries: int = 0
    malformed_lines: int = 0
    ingest_rejects: int = 0
    late_events: int = 0
    bot_events: int = 0
    sessions: int = 0
    bot_sessions: int = 0
    purchases: int = 0
    revenue: float = 0.0
    objects: int = 0
    rejected_objects: int = 0
    events_by_day: dict[str, int] = field(default_factory=dict)
    purchases_by_day: dict[str, int] = field(default_factory=dict)
    revenue_by_day: dict[str, float] = field(default_factory=dict)
    events_by_name: dict[str, int] = field(default_factory=dict)
    late_event_ids: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return self.malformed_lines + self.ingest_rejects

    def as_dict(self) -> dict:
        d = asdict(self)
        d["revenue"] = round(self.revenue, 2)
        d["revenue_by_day"] = {k: round(v, 2) for k, v in self.revenue_by_day.items()}
        d["late_event_ids"] = self.late_event_ids[:100]
        return d


@dataclass
class Delivery:
    """One tracker request as the ingest Lambda receives it (after enrichment)."""

    received_ms: int
    request_id: str
    user_agent: str | None
    ip_anon: str | None
    sent_at: str
    events: list[dict]
    invalid: list[tuple[str, dict]] = field(default_factory=list)  # (reason, event)
    junk_lines: list[bytes] = field(default_factory=list)


_DAYS: dict[int, str] = {}


def _iso(ms: int) -> str:
    """RFC 3339 UTC with milliseconds; hand-formatted (strftime was the hot spot)."""
    day, rest = divmod(ms, 86_400_000)
    prefix = _DAYS.get(day)
    if prefix is None:
        prefix = _DAYS[day] = datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%dT")
    s, milli = divmod(rest, 1000)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{prefix}{h:02d}:{m:02d}:{s:02d}.{milli:03d}Z"


class _Gen:
    def __init__(self, cfg: TrafficConfig) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)  # noqa: S311 - synthetic data, not security
        r = self.rng
        self.products = []
        for cat, (brands, (lo, hi), names) in CATEGORIES.items():
            for i in range(12):
                brand = brands[i % len(brands)]
                name = f"{brand} {names[i % len(names)]}" + (f" Gen {i // len(names) + 1}" if i >= len(names) else "")
                self.products.append({
                    "item_id": f"SKU-{len(self.products) + 10001}", "item_name": name, "item_brand": brand,
                    "item_category": cat, "price": round(r.uniform(lo, hi), 2) - 0.01 + 0.01, "quantity": 1,
                })
        self.cat_names = list(CATEGORIES)
        self.by_cat = {c: [p for p in self.products if p["item_category"] == c] for c in self.cat_names}
        self.ch_cum = self._cum([w for *_, w in CHANNELS])
        self.dev_cum = self._cum([w for _, w in DEVICE_WEIGHTS])
        self.hour_cum = self._cum(HOUR_WEIGHTS)
        self.start_ms = int(datetime.combine(cfg.start, datetime.min.time(), UTC).timestamp() * 1000)

    @staticmethod
    def _cum(weights) -> list[float]:
        out, acc = [], 0.0
        for w in weights:
            acc += w
            out.append(acc)
        return out

    def pick(self, cum: list[float]) -> int:
        return bisect.bisect(cum, self.rng.random() * cum[-1])

    def uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"

    def session_start(self) -> int:
        day = self.rng.randrange(self.cfg.days)
        hour = self.pick(self.hour_cum)
        return self.start_ms + ((day * 24 + hour) * 3600 + self.rng.randrange(3600)) * 1000


class _Visit:
    """One shopper's (or crawler's) visit, as the events it sends in order.

    Every random choice is drawn in a fixed order from the generator's one ``random.Random``,
    so the same seed gives the same bytes.
    """

    def __init__(self, g: _Gen, start_ms: int, bot: bool) -> None:
        r = self.r = g.rng
        self.g = g
        sid, anon = g.uuid(), g.uuid()
        user_id = f"cust-{r.randrange(1, 50_000)}" if not bot and r.random() < 0.25 else None
        self.ref, self.utm = (None, None) if bot else CHANNELS[g.pick(g.ch_cum)][:2]
        self.base = {"anonymous_id": anon, "session_id": sid}
        if user_id:
            self.base["user_id"] = user_id
        self.events: list[dict] = []
        self.t = start_ms
        self.cat = g.cat_names[r.randrange(len(g.cat_names))]
        self.landing = f"/c/{self.cat.lower().replace(' ', '-')}"

    def emit(self, name: str, path: str, title: str, extra: dict | None = None, first: bool = False) -> None:
        ref = self.ref
        ev = {"event_id": self.g.uuid(), "event_name": name, "event_ts": _iso(self.t), **self.base,
              "page": {"url": SHOP + path, "path": path, "title": title,
                       "referrer": (ref if first else SHOP + "/") if (ref or not first) else None}}
        if ev["page"]["referrer"] is None:
            del ev["page"]["referrer"]
        if first and self.utm:
            ev.update(self.utm)
        if extra:
            ev.update(extra)
        self.events.append(ev)
        self.t += self.r.randrange(3_000, 90_000)

    def crawl(self) -> None:
        """A bot: product pages, nothing else."""
        g, r = self.g, self.r
        for _ in range(r.randrange(2, 12)):
            p = g.products[r.randrange(len(g.products))]
            self.emit("page_view", f"/p/{p['item_id']}", p["item_name"])
            self.emit("view_item", f"/p/{p['item_id']}", p["item_name"],
                      {"items": [p], "value": p["price"], "currency": "USD"})

    def shop(self) -> dict:
        """A shopper: search, list, products, cart, checkout; the purchase when there is one."""
        r, cat, landing = self.r, self.cat, self.landing
        if r.random() < 0.25:
            self.emit("search", "/search", "Search", {"search_term": SEARCH_TERMS[r.randrange(len(SEARCH_TERMS))]})
        cands = self.g.by_cat[cat]
        listing = [cands[i] for i in sorted(r.sample(range(len(cands)), 4))]
        self.emit("view_item_list", landing, cat, {"items": listing})
        if r.random() < 0.35:
            return {}
        cart = self._browse(listing)
        if cart and r.random() < 0.12:
            gone = cart.pop(r.randrange(len(cart)))
            self.emit("remove_from_cart", "/cart", "Cart", {"items": [gone], "currency": "USD",
                                                            "value": round(gone["price"] * gone["quantity"], 2)})
        if not cart or r.random() < 0.45:
            return {}
        return self._checkout(cart)

    def _browse(self, listing: list[dict]) -> list[dict]:
        r, cart = self.r, []
        for _ in range(1 + (r.random() < 0.4) + (r.random() < 0.2)):
            p = listing[r.randrange(len(listing))]
            path = f"/p/{p['item_id']}"
            self.emit("select_item", self.landing, self.cat, {"items": [p]})
            self.emit("view_item", path, p["item_name"], {"items": [p], "value": p["price"], "currency": "USD"})
            if r.random() < 0.45:
                qty = 1 if r.random() < 0.85 else 2
                line = {**p, "quantity": qty}
                self.emit("add_to_cart", path, p["item_name"],
                          {"items": [line], "value": round(p["price"] * qty, 2), "currency": "USD"})
                cart.append(line)
        return cart

    def _checkout(self, cart: list[dict]) -> dict:
        r = self.r
        value = round(sum(i["price"] * i["quantity"] for i in cart), 2)
        money = {"items": cart, "value": value, "currency": "USD"}
        self.emit("begin_checkout", "/checkout", "Checkout", money)
        if r.random() < 0.25:
            return {}  # abandoned checkout
        self.emit("add_shipping_info", "/checkout/shipping", "Shipping", money)
        self.emit("add_payment_info", "/checkout/payment", "Payment", money)
        if r.random() < 0.2:
            return {}
        tid = f"T-{r.getrandbits(48):012x}"
        self.emit("purchase", "/checkout/thank-you", "Thank you", {**money, "transaction_id": tid})
        if r.random() < self.g.cfg.thank_you_reload_rate:
            self.emit("purchase", "/checkout/thank-you", "Thank you", {**money, "transaction_id": tid})
        return {"purchase": (tid, value, self.events[-1]["event_ts"][:10])}


def _session_events(g: _Gen, start_ms: int, bot: bool) -> tuple[list[dict], dict]:
    """One shopper's (or crawler's) visit as a list of events, and what it bought."""
    v = _Visit(g, start_ms, bot)
    v.emit("page_view", v.landing, v.cat, first=True)
    if bot:
        v.crawl()
        return v.events, {"bot": True}
    return v.events, v.shop()


class _Deliveries:
    """Sessions cut into tracker requests in arrival order, with the faults; fills the truth."""

    def __init__(self, cfg: TrafficConfig, truth: Truth) -> None:
        self.cfg, self.truth = cfg, truth
        self.g = _Gen(cfg)
        self.r = self.g.rng
        self.by_day: Counter[str] = Counter()
        self.by_name: Counter[str] = Counter()
        self.pur_day: Counter[str] = Counter()
        self.rev_day: Counter[str] = Counter()
        self.seen_tx: set[str] = set()
        self.pending: list[Delivery] = []  # late and retried deliveries, by arrival time
        self.batch: list[dict] = []
        self.batch_ua: str | None = None
        self.n = 0

    def make(self, events: list[dict], received_ms: int, ua: str | None) -> Delivery:
        g, r, cfg = self.g, self.r, self.cfg
        d = Delivery(received_ms=received_ms, request_id=g.uuid(), user_agent=ua,
                     ip_anon=f"203.0.113.{r.randrange(256)}" if r.random() < 0.9 else None,
                     sent_at=_iso(received_ms - r.randrange(20, 400)), events=events)
        for ev in events:
            if r.random() < cfg.ingest_reject_rate:
                reason, broken = INGEST_REJECT_REASONS[r.randrange(len(INGEST_REJECT_REASONS))]
                d.invalid.append((reason, broken({**ev, "event_id": g.uuid()})))
            if r.random() < cfg.malformed_rate:
                d.junk_lines.append(MALFORMED_LINES[r.randrange(len(MALFORMED_LINES))])
        if r.random() < cfg.duplicate_rate * 3 and events:
            # A retried request: a third of its events are delivered again, later.
            dup = events[: max(1, len(events) // 3)]
            self.pending.append(Delivery(received_ms=received_ms + r.randrange(1_000, 600_000),
                                         request_id=g.uuid(), user_agent=ua, ip_anon=d.ip_anon,
                                         sent_at=d.sent_at, events=list(dup)))
        return d

    def flush_due(self, now_ms: int) -> Iterator[Delivery]:
        pending = self.pending
        pending.sort(key=lambda d: d.received_ms)
        while pending and pending[0].received_ms <= now_ms:
            yield pending.pop(0)

    def count(self, events: list[dict], meta: dict, bot: bool) -> None:
        truth = self.truth
        self.n += len(events)
        truth.sessions += not bot
        truth.bot_sessions += bot
        for ev in events:
            self.by_day[ev["event_ts"][:10]] += 1
            self.by_name[ev["event_name"]] += 1
        if bot:
            truth.bot_events += len(events)
        if "purchase" in meta:
            tid, value, day = meta["purchase"]
            if tid not in self.seen_tx:
                self.seen_tx.add(tid)
                truth.purchases += 1
                truth.revenue += value
                self.pur_day[day] += 1
                self.rev_day[day] += value

    def split_late(self, events: list[dict], ua: str) -> list[dict]:
        """Sometimes an offline laptop: the session's second half arrives days later in one request."""
        r, cfg = self.r, self.cfg
        if not (r.random() < cfg.late_rate * 4 and len(events) > 1):
            return events
        half = len(events) // 2
        tail = events[half:]
        delay = r.randint(*cfg.late_days) * 86_400_000 + r.randrange(3_600_000)
        self.truth.late_events += len(tail)
        self.truth.late_event_ids.extend(e["event_id"] for e in tail)
        self.pending.append(self.make(tail, _ms(tail[-1]["event_ts"]) + delay, ua))
        return events[:half]

    def send(self, events: list[dict], ua: str, last_ms: int) -> Iterator[Delivery]:
        """The session's events into requests (one per browser and visit when requests are small)."""
        r, small = self.r, self.cfg.events_per_object <= 25  # small: one request per browser, like the tracker
        for ev in events:
            if self.batch and (len(self.batch) >= self.cfg.events_per_object or (small and ua != self.batch_ua)):
                yield from self.flush_due(last_ms)
                yield self.make(self.batch, last_ms + r.randrange(50, 2_000), self.batch_ua)
                self.batch = []
            self.batch.append(ev)
            self.batch_ua = ua
            last_ms = _ms(ev["event_ts"])
        if small and self.batch:
            yield from self.flush_due(last_ms)
            yield self.make(self.batch, last_ms + r.randrange(50, 2_000), self.batch_ua)
            self.batch = []
        self.last_ms = last_ms

    def finish(self) -> None:
        truth = self.truth
        truth.unique_events = self.n
        truth.events_by_day = dict(sorted(self.by_day.items()))
        truth.events_by_name = dict(sorted(self.by_name.items()))
        truth.purchases_by_day = dict(sorted(self.pur_day.items()))
        truth.revenue_by_day = {k: round(v, 2) for k, v in sorted(self.rev_day.items())}


def deliveries(cfg: TrafficConfig, truth: Truth) -> Iterator[Delivery]:
    """Tracker requests in arrival order, with faults injected; fills ``truth``."""
    run = _Deliveries(cfg, truth)
    g, r = run.g, run.r
    # Average ~8 events per session; over-generate start times and stop at the target.
    starts = sorted(g.session_start() for _ in range(max(4, cfg.events // 5)))
    for start in starts:
        if run.n >= cfg.events:
            break
        bot = r.random() < cfg.bot_share
        dev = "bot" if bot else DEVICE_WEIGHTS[g.pick(g.dev_cum)][0]
        ua = USER_AGENTS[dev][r.randrange(len(USER_AGENTS[dev]))]
        events, meta = _session_events(g, start, bot)
        run.count(events, meta, bot)
        yield from run.send(run.split_late(events, ua), ua, start)
    if run.batch:
        yield run.make(run.batch, run.last_ms + 1_000, run.batch_ua)
    run.pending.sort(key=lambda d: d.received_ms)
    yield from run.pending
    run.finish()


_EPOCH_DAYS: dict[str, int] = {}


def _ms(ts: str) -> int:
    """Inverse of :func:`_iso` (fast path for the strings this module makes)."""
    day = _EPOCH_DAYS.get(ts[:10])
    if day is None:
        day = _EPOCH_DAYS[ts[:10]] = int(datetime.fromisoformat(ts[:10]).replace(tzinfo=UTC).timestamp()) * 1000
    return day + ((int(ts[11:13]) * 60 + int(ts[14:16])) * 60 + int(ts[17:19])) * 1000 + int(ts[20:23])


@dataclass
class RawObject:
    """One gzip JSONL object for the raw bucket."""

    key: str
    body: bytes
    lines: int


def raw_objects(cfg: TrafficConfig, truth: Truth) -> Iterator[RawObject]:
    """The lake exactly as the ingest Lambda writes it (accepted and rejected objects)."""
    dumps = orjson.dumps
    seen: set[str] = set()
    rng = random.Random(cfg.seed + 1)  # noqa: S311 - synthetic data
    for d in deliveries(cfg, truth):
        received = _iso(d.received_ms)
        enrich = {"app_id": cfg.app_id, "sent_at": d.sent_at, "received_at": received,
                  "request_id": d.request_id, "ip_anon": d.ip_anon, "user_agent": d.user_agent}
        lines = []
        for ev in d.events:
            if ev["event_id"] in seen:
                truth.duplicate_deliveries += 1
            else:
                seen.add(ev["event_id"])
            lines.append(dumps({**ev, **enrich}))
        for junk in d.junk_lines:
            lines.insert(rng.randrange(len(lines) + 1), junk)
        truth.malformed_lines += len(d.junk_lines)
        if lines:
            body = b"\n".join(lines) + b"\n"
            truth.lines_sent += len(lines)
            truth.objects += 1
            yield RawObject(lake.object_key(cfg.raw_prefix, lake.EVENTS, d.received_ms, _uid(rng)),
                            gzip.compress(body, cfg.gzip_level, mtime=0), len(lines))
        if d.invalid:
            rej = [dumps({"index": i, "reason": reason, "payload": ev, "app_id": cfg.app_id,
                          "request_id": d.request_id, "received_at": received})
                   for i, (reason, ev) in enumerate(d.invalid)]
            truth.ingest_rejects += len(rej)
            truth.lines_sent += len(rej)
            truth.rejected_objects += 1
            yield RawObject(lake.object_key(cfg.raw_prefix, lake.REJECTED, d.received_ms, _uid(rng)),
                            gzip.compress(b"\n".join(rej) + b"\n", cfg.gzip_level, mtime=0), len(rej))
    # Duplicate deliveries were counted as unique above only once; the rest are re-sends.


def _uid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def generate(cfg: TrafficConfig) -> tuple[list[RawObject], Truth]:
    """All objects in memory plus the truth (fine up to a few million events)."""
    truth = Truth()
    objs = list(raw_objects(cfg, truth))
    return objs, truth


def write_to_s3(objects: list[RawObject], bucket: str, s3=None, workers: int = 16) -> None:
    """PUT the objects (in parallel; boto3 clients are thread-safe)."""
    if s3 is None:
        import boto3
        from botocore.config import Config

        s3 = boto3.client("s3", config=Config(max_pool_connections=workers * 2))

    def put(o: RawObject) -> None:
        s3.put_object(Bucket=bucket, Key=o.key, Body=o.body, ContentType="application/x-ndjson",
                      ContentEncoding="gzip")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(put, objects))


def generate_to_s3(cfg: TrafficConfig, bucket: str, s3=None) -> Truth:
    """Generate and upload; return the truth."""
    objs, truth = generate(cfg)
    write_to_s3(objs, bucket, s3)
    return truth
