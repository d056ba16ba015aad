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
* ``by_object_size``: the ETL rate, its own COPY ceiling, the ratio and the CPU split per
  event (``cpu_us_per_event``: ETL parent, parse workers, PostgreSQL, emulator) at about 5,
  25 and 150 events per object and at what the lake's design produces (``batcher``: a day of
  1M events as the SQS buffer's batcher writes it, ``docs/lake.md``): the top-level figures
  are that case's; the others show what object size costs.
  ``BENCH_ETL_SCALE=0.2`` runs every size but the design's at a fifth of its full event count
  (a medium run; the design's objects are as large as a day of 1M events makes them).
* ``backfill_30d_minutes``: 30 days at 1M events a day (30M events) at the design size's
  measured rate. This machine runs PostgreSQL, the emulator and the ETL on the same 2 cores;
  ``backfill_30d_minutes_split`` is the same backfill estimated from CPU per event as AWS runs
  it: during loading the function (its default memory's vCPUs) and the loader's one
  PostgreSQL backend (one core) work side by side, the slower bounding; then the rollups are
  refreshed on ``refresh_connections`` backends, over the warehouse host's vCPUs
  (``cpu_us_per_event_by_phase`` holds the CPU per event of each phase).
* ``memory_mb``: the ETL's peak resident memory, parent growth during the run and the
  largest parse worker: what the ETL Lambda's ``memory_size`` is set from
  (``modules/etl/README.md``).
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import threading
import time
from datetime import timedelta
from pathlib import Path

import boto3
import psycopg

from clickstream.bench._batched import as_batcher_objects, upload_objects
from clickstream.traffic import TrafficConfig, generate
from clickstream.warehouse import migrate

#: The generator's ``events_per_object`` knob -> what it gives per object (measured), and the
#: days the events span: 25 is its default, one request per browser (about 5 events per
#: object, the lake with one object per request); 30 lets requests mix browsers (about 25);
#: 500 is the large-object comparison (about 150). "batcher" is the lake's design: the default
#: requests packed by the batcher's own code (:func:`as_batcher_objects`), one object per
#: 300 s batch window and hour; at 1M events a day 3,472 events per object on average
#: (``docs/lake.md``), fewer at night and more at the peak of the generator's daily curve.
SIZES = (("5", 25, 3), ("25", 30, 3), ("150", 500, 3), ("batcher", 25, 1))
#: The size the lake's design produces: the headline figures and the backfill estimate.
DESIGN = "batcher"
BACKFILL_EVENTS = 30 * 1_000_000
#: vCPUs of the ETL function at its default memory (modules/etl: 2,304 MB; 1 vCPU per 1,769 MB).
LAMBDA_VCPUS = 2304 / 1769
#: vCPUs of the warehouse host at its default size (modules/platform sizes: t3.large).
WAREHOUSE_VCPUS = 2


def _events(ctx, label: str) -> int:
    """Events per size: full, quick, or scaled by BENCH_ETL_SCALE (a medium run on a loaded box)."""
    full = {"5": 100_000, "25": 250_000, "150": 1_000_000, "batcher": 1_000_000}[label]
    quick = {"5": 10_000, "25": 20_000, "150": 50_000, "batcher": 50_000}[label]
    scale = os.environ.get("BENCH_ETL_SCALE")
    if scale and label != DESIGN:  # the design's object size comes from 1M events in a day
        return max(2_000, int(full * float(scale)))
    return quick if ctx.quick else full


def run(ctx) -> dict:
    s3 = boto3.client("s3")
    sizes: dict[str, dict] = {}
    main: dict = {}
    for label, epo, days in SIZES:
        case = _case(ctx, s3, label, epo, days)
        if label == DESIGN:
            main = case.pop("_main")
        else:
            case.pop("_main")
        sizes[label] = case
    big = sizes[DESIGN]
    objects, truth, suffix = main["objects"], main["truth"], main["suffix"]
    naive_rate, naive_n = _naive(ctx, s3, main["bucket"], objects, ctx.pg, suffix)
    ctx.pg.drop_database(f"bench_naive_{suffix}")
    etl_rate, copy_rate = big["etl_events_per_s"], big["copy_ceiling_events_per_s"]
    return {
        "events": truth.lines_sent,
        "objects": len(objects),
        "generate_s": big["generate_s"],
        "etl_events_per_s": {"value": etl_rate, "target": 100_000,
                             "baseline": "copy_ceiling_events_per_s"},
        "copy_ceiling_events_per_s": {"value": copy_rate},
        "etl_vs_copy_ratio": {"value": big["etl_vs_copy_ratio"], "target": 0.8},
        "naive_events_per_s": {"value": round(naive_rate), "sample_events": naive_n},
        "etl_vs_naive_ratio": {"value": round(etl_rate / naive_rate, 1)},
        "design_events_per_object": big["events_per_object"],
        "backfill_30d_minutes": {"value": round(BACKFILL_EVENTS / etl_rate / 60, 1), "target": 30},
        "backfill_30d_minutes_split": {"value": _split_minutes(big), "target": 30},
        "memory_mb": big["memory_mb"],
        "cpu_seconds": {"etl": big["cpu_seconds"], "copy_ceiling_postgres": big["copy_ceiling_postgres_cpu_s"],
                        "us_per_event": big["cpu_us_per_event"]},
        "stage_seconds": big["stage_seconds"],
        "emulator_gets": len(objects),
        "etl_summary": big["etl_summary"],
        "correct": all(c["correct"] for c in sizes.values()),
        # The same figures at each object size (events per object as the generator makes them),
        # each with its own COPY ceiling of its own rows measured right after it.
        "by_object_size": sizes,
        "load_average": list(os.getloadavg()),
    }


def _split_minutes(case: dict) -> float:
    """The backfill as AWS runs it: the ETL function and the warehouse on their own CPUs.

    Load phase: the function (loader + parse workers) on :data:`LAMBDA_VCPUS` (its default
    memory) overlaps with the warehouse's side, one backend (the loader's one connection, so
    one core however large the host); the slower side bounds it. Refresh phase: the dirty
    days' ``dw.refresh_day`` calls run on ``refresh_connections`` backends at once
    (``etl.loading.refresh_dirty_days``), at most one per vCPU of the warehouse host. An
    estimate from measured CPU per event, not a measured run.
    """
    load, refresh = case["cpu_us_per_event_by_phase"]["load"], case["cpu_us_per_event_by_phase"]["refresh"]
    function_us = (load.get("etl_process", 0.0) + load.get("parse_workers", 0.0)) / LAMBDA_VCPUS
    load_us = max(function_us, load.get("postgres", 0.0))
    refresh_us = refresh.get("postgres", 0.0) / max(1, min(case["refresh_connections"], WAREHOUSE_VCPUS))
    return round(BACKFILL_EVENTS * (load_us + refresh_us) / 1e6 / 60, 1)


def _case(ctx, s3, label: str, epo: int, days: int) -> dict:
    """One object size: generate, upload, one ETL run (CPU split), then the COPY ceiling."""
    from etl.config import Settings
    from etl.runner import run as etl_run

    n = _events(ctx, label)
    suffix = f"{int(time.time())}_{label}"
    bucket = f"bench-etl-{suffix.replace('_', '-')}"
    s3.create_bucket(Bucket=bucket)
    t0 = time.perf_counter()
    cfg = TrafficConfig(seed=11, events=n, days=days, events_per_object=epo)
    objects, truth = generate(cfg)
    metadata: dict[str, dict[str, str]] = {}
    if label == DESIGN:
        objects, metadata = as_batcher_objects(objects, cfg.raw_prefix)
    gen_s = time.perf_counter() - t0
    ctx.log(f"[{label}/object] generated {truth.lines_sent} lines in {len(objects)} objects in {gen_s:.1f}s")
    t0 = time.perf_counter()
    upload_objects(objects, metadata, bucket, s3)
    ctx.log(f"[{label}/object] uploaded in {time.perf_counter() - t0:.1f}s")

    pg = ctx.pg
    dsn = pg.create_database(f"bench_etl_{suffix}")
    migrate(dsn)
    settings = Settings(raw_bucket=bucket, dw_dsn=dsn)
    stages: dict[str, float] = {}
    statements = _Statements(pg.dsn(f"bench_etl_{suffix}")) if label == DESIGN else None
    rss0 = _reset_peak_rss()
    workers_rss = _WorkerRss()
    t0 = time.perf_counter()
    cpu0 = _cpu(ctx, pg)

    load_cpu: dict[str, float] = {}

    def hook(stage: str) -> None:  # the last batch's commit ends the load phase
        if stage == "before_commit":
            stages["load"] = time.perf_counter() - t0
            load_cpu.update(_cpu(ctx, pg))  # a few /proc reads per batch

    summary = etl_run(settings, today=cfg.start + timedelta(days=cfg.days + 6), hook=hook)
    etl_s = time.perf_counter() - t0
    cpu = {k: round(v - cpu0.get(k, 0.0), 2) for k, v in _cpu(ctx, pg).items()}
    by_statement = statements.top() if statements is not None else None
    memory = {"parent_growth": round((_peak_rss_kb() - rss0) / 1024, 1),
              "largest_worker": round(workers_rss.stop() / 1024, 1)}
    stages["refresh"] = etl_s - stages.get("load", etl_s)
    etl_rate = truth.lines_sent / etl_s
    ctx.log(f"[{label}/object] ETL {etl_s:.1f}s -> {etl_rate:,.0f} events/s ({summary['events_loaded']} loaded); "
            f"cpu {cpu}; stages {stages}")

    # Server-side COPY of the same rows into the same table in a fresh warehouse.
    dump = Path(pg.base_dir) / f"events_{suffix}.copy"
    # Server-side files need the superuser (the bench databases belong to a plain owner role).
    with psycopg.connect(pg.dsn(f"bench_etl_{suffix}"), autocommit=True) as c:
        c.execute(f"COPY (SELECT * FROM dw.events) TO '{dump}'")
        lo, hi = c.execute("SELECT min(event_ts), max(event_ts) FROM dw.events").fetchone()
        rows = c.execute("SELECT count(*) FROM dw.events").fetchone()[0]
    dsn2 = pg.create_database(f"bench_copy_{suffix}")
    migrate(dsn2)
    with psycopg.connect(dsn2, autocommit=True) as c:
        c.execute("SELECT dw.ensure_event_partitions(%s, %s)", (lo, hi))
    with psycopg.connect(pg.dsn(f"bench_copy_{suffix}"), autocommit=True) as c:
        c.execute("CHECKPOINT")  # the ETL's database had its own; start both from clean
        pg_cpu0 = _cpu(ctx, pg)["postgres"]
        t0 = time.perf_counter()
        c.execute(f"COPY dw.events FROM '{dump}'")
        copy_s = time.perf_counter() - t0
        copy_cpu = _cpu(ctx, pg)["postgres"] - pg_cpu0
    copy_rate = rows / copy_s
    ctx.log(f"[{label}/object] server-side COPY {rows} rows in {copy_s:.1f}s -> {copy_rate:,.0f} rows/s "
            f"(postgres cpu {copy_cpu:.1f}s)")
    for name in (f"bench_etl_{suffix}", f"bench_copy_{suffix}"):
        pg.drop_database(name)
    dump.unlink(missing_ok=True)
    per_event = {k: round(v / truth.lines_sent * 1e6, 1) for k, v in cpu.items()}
    per_event["total"] = round(sum(cpu.values()) / truth.lines_sent * 1e6, 1)
    per_event["copy_ceiling_postgres"] = round(copy_cpu / max(rows, 1) * 1e6, 1)
    load_cpu = load_cpu or cpu0
    by_phase = {
        "load": {k: round((load_cpu[k] - cpu0.get(k, 0.0)) / truth.lines_sent * 1e6, 1) for k in load_cpu},
        "refresh": {k: round((cpu0.get(k, 0.0) + cpu[k] - load_cpu.get(k, 0.0)) / truth.lines_sent * 1e6, 1)
                    for k in cpu},
    }
    return {
        "events": truth.lines_sent,
        "objects": len(objects),
        "events_per_object": round(truth.lines_sent / len(objects), 1),
        "generate_s": round(gen_s, 2),
        "etl_seconds": round(etl_s, 2),
        "etl_events_per_s": round(etl_rate),
        "copy_ceiling_events_per_s": round(copy_rate),
        "etl_vs_copy_ratio": round(etl_rate / copy_rate, 3),
        "cpu_seconds": cpu,
        "copy_ceiling_postgres_cpu_s": round(copy_cpu, 2),
        # CPU per event in each place: the ETL parent (listing, loader, SQL client), its parse
        # workers (GET client, gunzip, parse, COPY text), PostgreSQL, the emulator (serving GETs).
        "cpu_us_per_event": per_event,
        # The same split before and after the last batch's commit (loading, then refresh).
        "cpu_us_per_event_by_phase": by_phase,
        "refresh_connections": settings.refresh_connections,
        "stage_seconds": {k: round(v, 2) for k, v in stages.items()},
        "memory_mb": memory,
        **({"postgres_ms_by_statement": by_statement} if by_statement is not None else {}),
        "etl_summary": {k: summary[k] for k in ("files_loaded", "events_loaded", "duplicates",
                                                "rejected", "files_failed", "days_refreshed")},
        "correct": summary["events_loaded"] == truth.unique_events and summary["rejected"] == truth.rejected,
        "_main": {"objects": objects, "truth": truth, "suffix": suffix, "bucket": bucket},
    }


def _naive(ctx, s3, bucket: str, objects, pg, suffix: str) -> tuple[float, int]:
    """pandas to_sql(method="multi") over a sample of objects, end to end from S3."""
    import pandas as pd
    from sqlalchemy import create_engine

    limit = 10_000 if ctx.quick else 30_000  # a rate: a sample of a few minutes at pandas' speed
    if os.environ.get("BENCH_ETL_SCALE"):
        limit = max(2_000, int(limit * float(os.environ["BENCH_ETL_SCALE"])))
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


class _Statements:
    """PostgreSQL's execution time per statement during one ETL run (pg_stat_statements).

    It shows what the COPY ceiling does not have to do: the id table, the known-id lookup,
    the session/product/purchase merges and the rollup refresh. Statements run inside
    ``dw.refresh_day`` are counted under it (top-level tracking).
    """

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            c.execute("SELECT pg_stat_statements_reset()")

    def top(self, n: int = 12) -> list[dict]:
        with psycopg.connect(self.dsn, autocommit=True) as c:
            rows = c.execute(
                "SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 90), calls, total_exec_time, rows"
                " FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database"
                " WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT %s", (n,)).fetchall()
        return [{"statement": q, "calls": calls, "ms": round(ms), "rows": r} for q, calls, ms, r in rows]


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class _WorkerRss:
    """The largest RSS any parse worker reached, sampled from /proc every 0.2 s while it runs.

    Not ``RUSAGE_CHILDREN``: its ``ru_maxrss`` also counts every child forked from this
    process before its exec (PostgreSQL's tools, the emulator), each with this process's
    pages at that moment, and this process holds the generated objects.
    """

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="bench-worker-rss", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            for pid in _children(os.getpid()):
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        if b"etl.workers" not in f.read():
                            continue
                    with open(f"/proc/{pid}/status") as f:
                        rss = next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
                except (OSError, ValueError):
                    continue
                self.peak_kb = max(self.peak_kb, rss)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(timeout=5)
        return self.peak_kb


def _reset_peak_rss() -> int:
    """Reset this process's peak RSS (Linux ``clear_refs`` 5) and return the current RSS in kB.

    The bench process holds the generated objects, so only the peak's growth during the
    ETL run is the ETL's. Where the reset is refused the growth is measured from the old peak
    (an under-estimate, flagged by a zero).
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return _status_kb("VmHWM")
    return _status_kb("VmRSS")


def _peak_rss_kb() -> int:
    return _status_kb("VmHWM")


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
