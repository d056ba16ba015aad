"""ETL throughput: generated gzip JSONL in the emulator's S3 -> warehouse, end to end.

Figures, all measured in the same run on the same machine:

* ``etl_events_per_s``: lines in the lake / wall time of one ETL run (list, GET, gunzip,
  parse, validate, COPY, de-duplicate, merge, dimensions, manifest, rollup refresh).
  Target >= 100k events/s on 2 cores.
* ``copy_ceiling_events_per_s``: a server-side ``COPY dw.events FROM '<file>'`` of the very
  rows the ETL produced, into the same (empty, partitioned) table in a fresh database: the
  fastest PostgreSQL can take these rows. Target ratio ETL/COPY >= 0.8.
* ``naive_events_per_s``: what a user would write first: download, ``json.loads``,
  ``pandas.DataFrame``, ``to_sql(method="multi")`` through SQLAlchemy + psycopg 3. Measured on
  a sample (it is slow), reported as a rate.
* ``cpu_seconds``: where the ETL run's CPU went, read from /proc around the run: the ETL
  process (listing, loader, SQL client), its parse workers, the PostgreSQL server (all its
  processes, reaped backends included) and the emulator's process (serving the GETs). On a
  shared 2-core machine wall time swings with other load; CPU seconds per component do
  not, and they show what bounds the end-to-end figure. ``stage_seconds`` splits the wall
  time into load (fetch/parse/COPY/merge, overlapped) and rollup refresh.
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import time
from datetime import timedelta
from pathlib import Path

import boto3
import psycopg

from clickstream.traffic import TrafficConfig, generate, write_to_s3
from clickstream.warehouse import migrate


def run(ctx) -> dict:
    from etl.config import Settings
    from etl.runner import run as etl_run

    n = 50_000 if ctx.quick else 1_000_000
    bucket = f"bench-etl-{int(time.time())}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)

    t0 = time.perf_counter()
    cfg = TrafficConfig(seed=11, events=n, days=3, events_per_object=500)
    objects, truth = generate(cfg)
    gen_s = time.perf_counter() - t0
    ctx.log(f"generated {truth.lines_sent} lines in {len(objects)} objects in {gen_s:.1f}s")
    t0 = time.perf_counter()
    write_to_s3(objects, bucket, s3)
    ctx.log(f"uploaded in {time.perf_counter() - t0:.1f}s")

    pg = ctx.pg
    suffix = str(int(time.time()))
    dsn = pg.create_database(f"bench_etl_{suffix}")
    migrate(dsn)
    settings = Settings(raw_bucket=bucket, dw_dsn=dsn)
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    cpu0 = _cpu(ctx, pg)

    def hook(stage: str) -> None:  # the last batch's commit ends the load phase
        if stage == "before_commit":
            stages["load"] = time.perf_counter() - t0

    summary = etl_run(settings, today=cfg.start + timedelta(days=cfg.days + 6), hook=hook)
    etl_s = time.perf_counter() - t0
    cpu = {k: round(v - cpu0.get(k, 0.0), 2) for k, v in _cpu(ctx, pg).items()}
    stages["refresh"] = etl_s - stages.get("load", etl_s)
    etl_rate = truth.lines_sent / etl_s
    ctx.log(f"ETL {etl_s:.1f}s -> {etl_rate:,.0f} events/s ({summary['events_loaded']} loaded); "
            f"cpu {cpu}; stages {stages}")

    # Server-side COPY of the same rows into the same table in a fresh warehouse.
    dump = Path(pg.base_dir) / f"events_{suffix}.copy"
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(f"COPY (SELECT * FROM dw.events) TO '{dump}'")
        lo, hi = c.execute("SELECT min(event_ts), max(event_ts) FROM dw.events").fetchone()
        rows = c.execute("SELECT count(*) FROM dw.events").fetchone()[0]
    dsn2 = pg.create_database(f"bench_copy_{suffix}")
    migrate(dsn2)
    with psycopg.connect(dsn2, autocommit=True) as c:
        c.execute("SELECT dw.ensure_event_partitions(%s, %s)", (lo, hi))
        c.execute("CHECKPOINT")  # the ETL's database had its own; start both from clean
        pg_cpu0 = _cpu(ctx, pg)["postgres"]
        t0 = time.perf_counter()
        c.execute(f"COPY dw.events FROM '{dump}'")
        copy_s = time.perf_counter() - t0
        copy_cpu = _cpu(ctx, pg)["postgres"] - pg_cpu0
    copy_rate = rows / copy_s
    ctx.log(f"server-side COPY {rows} rows in {copy_s:.1f}s -> {copy_rate:,.0f} rows/s "
            f"(postgres cpu {copy_cpu:.1f}s)")

    naive_rate, naive_n = _naive(ctx, s3, bucket, objects, pg, suffix)
    for name in (f"bench_etl_{suffix}", f"bench_copy_{suffix}", f"bench_naive_{suffix}"):
        pg.drop_database(name)
    dump.unlink(missing_ok=True)

    return {
        "events": truth.lines_sent,
        "objects": len(objects),
        "generate_s": round(gen_s, 2),
        "etl_events_per_s": {"value": round(etl_rate), "target": 100_000,
                             "baseline": "copy_ceiling_events_per_s"},
        "copy_ceiling_events_per_s": {"value": round(copy_rate)},
        "etl_vs_copy_ratio": {"value": round(etl_rate / copy_rate, 3), "target": 0.8},
        "naive_events_per_s": {"value": round(naive_rate), "sample_events": naive_n},
        "etl_vs_naive_ratio": {"value": round(etl_rate / naive_rate, 1)},
        "cpu_seconds": {"etl": cpu, "copy_ceiling_postgres": round(copy_cpu, 2),
                        "us_per_event": {k: round(v / truth.lines_sent * 1e6, 1)
                                         for k, v in cpu.items()}},
        "stage_seconds": {k: round(v, 2) for k, v in stages.items()},
        "emulator_gets": len(objects),
        "etl_summary": {k: summary[k] for k in ("files_loaded", "events_loaded", "duplicates",
                                                "rejected", "files_failed", "days_refreshed")},
        "correct": summary["events_loaded"] == truth.unique_events
        and summary["rejected"] == truth.rejected,
    }


def _naive(ctx, s3, bucket: str, objects, pg, suffix: str) -> tuple[float, int]:
    """pandas to_sql(method="multi") over a sample of objects, end to end from S3."""
    import pandas as pd
    from sqlalchemy import create_engine

    limit = 20_000 if ctx.quick else 100_000
    sample, count = [], 0
    for o in objects:
        if "/rejected/" in o.key:
            continue
        sample.append(o.key)
        count += o.lines
        if count >= limit:
            break
    dsn = pg.create_database(f"bench_naive_{suffix}")
    engine = create_engine(dsn.replace("postgresql://", "postgresql+psycopg://"))
    t0 = time.perf_counter()
    records = []
    for key in sample:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        for line in gzip.decompress(body).splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                records.append(rec)
    df = pd.json_normalize(records)
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = df[col].map(lambda v: json.dumps(v) if isinstance(v, list | dict) else v)
    df.to_sql("naive_events", engine, if_exists="append", index=False, method="multi", chunksize=1000)
    elapsed = time.perf_counter() - t0
    engine.dispose()
    ctx.log(f"naive pandas to_sql: {len(records)} events in {elapsed:.1f}s")
    return len(records) / elapsed, len(records)


def _proc_cpu(pid: int) -> tuple[float, float]:
    """(own, reaped children's) CPU seconds of a process, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _cpu(ctx, pg) -> dict[str, float]:
    """CPU seconds so far: this process, its children (parse workers), PostgreSQL, emulator."""
    server = getattr(getattr(ctx.emulator, "_server", None), "proc", None)
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # workers, once they have exited
    live = sum(sum(_proc_cpu(p)) for p in _children(os.getpid())
               if server is None or p != server.pid)
    out = {"etl_process": me.ru_utime + me.ru_stime, "parse_workers": kids.ru_utime + kids.ru_stime + live}
    try:
        postmaster = int((Path(pg.datadir) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        postmaster = None
    if postmaster:
        own, reaped = _proc_cpu(postmaster)
        out["postgres"] = own + reaped + sum(sum(_proc_cpu(c)) for c in _children(postmaster))
    if server is not None:
        out["emulator"] = sum(_proc_cpu(server.pid))
    return out
