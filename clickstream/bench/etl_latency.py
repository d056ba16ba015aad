"""The ETL with S3 latency: the same load direct to the emulator and through a delaying proxy.

The emulator answers a GET in well under a millisecond; S3 takes tens of milliseconds. An
ETL whose GETs run one after another would lose most of its throughput to that wait, so
the ETL keeps ``gets_in_flight`` GETs going in each worker process while it parses. This
benchmark shows whether that hides the latency: at each object size (traffic generator
objects of about 5 and 25 events, what one ingest request really gives, 150 for
comparison, and the lake's design, a day of 1M events as the buffer's batcher writes it) the
same objects are loaded twice, each into a fresh warehouse:

* ``direct``: straight to the emulator;
* ``delayed``: through :mod:`clickstream.s3proxy` in a process of its own, adding a fixed
  delay to every request (``BENCH_ETL_LATENCY_MS``, default 30).

Figures per size: events/s and GETs/s of both runs and ``latency_ratio`` = delayed /
direct (target >= 0.8); the client CPU of each run (the ETL process and its parse
workers) per object; the connections the proxy accepted for the GETs it served (reuse:
far fewer than GETs) and the most GETs it saw in flight at once; the proxy's own CPU.

``get_client_cpu_ms``: client CPU of one GET measured alone (sequential GETs of the
5-event objects, body read whole), for the ways a GET can be made: ``fresh_client`` (a
boto3 client per GET, what to avoid), ``etl_client`` (the ETL's own pooled client and
:func:`etl.fetching.fetch`, direct: moto closes every connection, so each GET also
reconnects; and through the proxy: one kept-alive connection), and lighter clients for
comparison: ``urllib3_sigv4`` (a urllib3 pool, requests signed by botocore's SigV4
signer) and ``obstore`` when it is importable (it is not a dependency: reported as
``null`` otherwise).

Wall-clock figures on a shared machine swing with other load; the ratio compares two runs
made one after the other on the same machine, and the CPU figures do not depend on load.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import boto3

from clickstream.bench._batched import as_batcher_objects, upload_objects
from clickstream.traffic import TrafficConfig, generate
from clickstream.warehouse import migrate

#: Events per object -> events generated (full, quick); quick skips the middle size (None)
#: to stay within about a minute: each ETL run has a few seconds of fixed cost. "batcher" is
#: the lake's design: a day of 1M events as the buffer's batcher writes it (bench etl).
SIZES: dict[int | str, tuple[int, int | None]] = {
    5: (20_000, 400), 25: (40_000, None), 150: (200_000, 2_500), "batcher": (1_000_000, 20_000)}
DEFAULT_LATENCY_MS = 30.0
#: Sequential GETs timed for the per-GET client CPU figures (full, quick).
GET_SAMPLE = (400, 40)


def run(ctx) -> dict:
    latency_ms = float(os.environ.get("BENCH_ETL_LATENCY_MS") or DEFAULT_LATENCY_MS)
    s3 = boto3.client("s3")
    results: dict[str, dict] = {}
    get_cpu: dict | None = None
    for per_object, (full, quick) in SIZES.items():
        n = quick if ctx.quick else full
        if n is None:
            continue
        bucket = f"bench-lat-{per_object}-{int(time.time())}"
        s3.create_bucket(Bucket=bucket)
        batched = per_object == "batcher"
        cfg = TrafficConfig(seed=23, events=n, days=1, events_per_object=25 if batched else int(per_object))
        objects, truth = generate(cfg)
        metadata: dict[str, dict[str, str]] = {}
        if batched:
            objects, metadata = as_batcher_objects(objects, cfg.raw_prefix)
        upload_objects(objects, metadata, bucket, s3)
        ctx.log(f"{per_object}/object: {truth.lines_sent} lines in {len(objects)} objects uploaded")
        today = cfg.start + timedelta(days=cfg.days + 6)
        direct = _etl(ctx, bucket, today, truth, len(objects), None)
        with _proxy(ctx.emulator.endpoint_url, latency_ms) as proxy:
            delayed = _etl(ctx, bucket, today, truth, len(objects), proxy)
        delayed["proxy"] = proxy.stats
        ratio = delayed["events_per_s"] / direct["events_per_s"]
        ctx.log(f"{per_object}/object: direct {direct['events_per_s']:,} events/s, "
                f"{latency_ms:g} ms per request {delayed['events_per_s']:,} events/s (ratio {ratio:.2f})")
        results[str(per_object)] = {
            "events": truth.lines_sent, "objects": len(objects),
            "events_per_object": round(truth.lines_sent / len(objects), 1),
            "direct": direct, "delayed": delayed,
            "latency_ratio": {"value": round(ratio, 3), "target": 0.8},
        }
        if get_cpu is None:  # the smallest objects: where the GET's own cost shows most
            get_cpu = _get_cpu(ctx, bucket, [o.key for o in objects if "/rejected/" not in o.key])
    ratios = [r["latency_ratio"]["value"] for r in results.values()]
    return {
        "latency_ms": latency_ms,
        "sizes": results,
        "min_latency_ratio": {"value": min(ratios), "target": 0.8},
        "get_client_cpu_ms": get_cpu,
        "correct": all(r[m]["correct"] for r in results.values() for m in ("direct", "delayed")),
    }


def _etl(ctx, bucket: str, today, truth, objects: int, proxy: _ProxyProcess | None) -> dict:
    """One ETL run into a fresh warehouse; through ``proxy`` when given."""
    from etl.config import Settings
    from etl.runner import run as etl_run

    name = f"bench_lat_{int(time.time() * 1000)}"
    dsn = ctx.pg.create_database(name)
    migrate(dsn)
    # Worker processes at every size, as a backfill runs (the thread fallback is for tiny runs).
    settings = Settings(raw_bucket=bucket, dw_dsn=dsn, process_min_objects=0)
    with _endpoint(proxy.url if proxy else None):
        cpu0 = _client_cpu()
        t0 = time.perf_counter()
        summary = etl_run(settings, today=today)
        wall = time.perf_counter() - t0
        cpu = _client_cpu() - cpu0
    ctx.pg.drop_database(name)
    return {
        "seconds": round(wall, 2),
        "events_per_s": round(truth.lines_sent / wall),
        "gets_per_s": round(objects / wall),
        "client_cpu_s": round(cpu, 2),
        "client_cpu_ms_per_object": round(cpu / objects * 1e3, 3),
        "correct": summary["events_loaded"] == truth.unique_events and summary["rejected"] == truth.rejected
        and summary["files_failed"] == 0 and summary["accounting_mismatches"] == 0,
    }


def _client_cpu() -> float:
    """CPU seconds of this process and its reaped children (the ETL's parse workers).

    The emulator and the proxy are children too, but alive until the end, so never reaped
    inside a measured run.
    """
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


@contextmanager
def _endpoint(url: str | None):
    """Point boto3's standard configuration (this process and the workers it starts) at ``url``."""
    if url is None:
        yield
        return
    old = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = url
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = old


class _ProxyProcess:
    """``python -m clickstream.s3proxy`` as a child: its URL, then its counters and CPU."""

    def __init__(self, upstream: str, latency_ms: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "clickstream.s3proxy", upstream, "--latency-ms", str(latency_ms)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.proc.kill()
            raise RuntimeError(f"the S3 proxy did not start (said {self.url!r})")
        self.stats: dict = {}

    def close(self) -> None:
        cpu = _proc_cpu(self.proc.pid)
        out, _ = self.proc.communicate("", timeout=30)
        self.stats = {**json.loads(out.strip().splitlines()[-1]), "cpu_s": round(cpu, 2)}


@contextmanager
def _proxy(upstream: str, latency_ms: float):
    proxy = _ProxyProcess(upstream, latency_ms)
    try:
        yield proxy
    finally:
        proxy.close()


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _get_cpu(ctx, bucket: str, keys: list[str]) -> dict:
    """Client CPU milliseconds per GET, each way of GETting, on the same objects."""
    from etl.config import Settings
    from etl.fetching import fetch, s3_client
    from etl.listing import RawObject

    keys = keys[: GET_SAMPLE[1] if ctx.quick else GET_SAMPLE[0]]
    settings = Settings(raw_bucket=bucket)
    objs = [RawObject(key=k, kind="events", dt=None, etag=None, size=0) for k in keys]  # type: ignore[arg-type]

    def per_get(fn, sample=keys) -> float:
        fn(sample[0])  # connect, warm up
        c0 = time.process_time()
        for k in sample[1:]:
            fn(k)
        return round((time.process_time() - c0) / (len(sample) - 1) * 1e3, 3)

    out: dict[str, float | None] = {}
    out["fresh_client"] = per_get(lambda k: boto3.client("s3").get_object(Bucket=bucket, Key=k)["Body"].read(),
                                  keys[: max(len(keys) // 4, 2)])
    by_key = {o.key: o for o in objs}
    etl = s3_client(settings)
    out["etl_client_direct"] = per_get(lambda k: fetch(etl, settings, by_key[k]))
    with _proxy(ctx.emulator.endpoint_url, 0.0) as proxy, _endpoint(proxy.url):
        etl = s3_client(settings)
        out["etl_client_kept_alive"] = per_get(lambda k: fetch(etl, settings, by_key[k]))
        out["urllib3_sigv4_kept_alive"] = per_get(_urllib3_get(proxy.url, bucket))
        out["obstore_kept_alive"] = _obstore(proxy.url, bucket, per_get)
    ctx.log(f"client CPU per GET (ms): {out}")
    return out


def _urllib3_get(endpoint: str, bucket: str):
    """A GET with a urllib3 pool, signed by botocore's SigV4 signer (no boto3 client)."""
    import urllib3
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = boto3.session.Session()
    signer = S3SigV4Auth(session.get_credentials().get_frozen_credentials(), "s3",
                         session.region_name or "us-east-1")
    pool = urllib3.PoolManager(maxsize=4)

    def get(key: str) -> bytes:
        url = f"{endpoint}/{bucket}/{key}"
        req = AWSRequest(method="GET", url=url, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
        signer.add_auth(req)
        resp = pool.request("GET", url, headers=dict(req.headers.items()))
        if resp.status != 200:
            raise RuntimeError(f"GET {key}: HTTP {resp.status}")
        return resp.data

    return get


def _obstore(endpoint: str, bucket: str, per_get) -> float | None:
    """obstore's GET when it is importable (it is not one of the project's dependencies)."""
    try:
        import obstore
        from obstore.store import S3Store
    except ImportError:
        return None
    session = boto3.session.Session()
    creds = session.get_credentials().get_frozen_credentials()
    store = S3Store(bucket, endpoint=endpoint, region=session.region_name or "us-east-1",
                    access_key_id=creds.access_key, secret_access_key=creds.secret_key,
                    client_options={"allow_http": True})  # the loopback proxy only
    return per_get(lambda k: bytes(obstore.get(store, k).bytes()))
