"""The whole platform on one machine, from the same artifacts Terraform deploys.

Used by ``make demo`` and by the end-to-end tests, so the demo is exactly what the tests
prove. :func:`local_platform` brings up, in order and with progress lines:

1. the AWS emulator (embedded moto, or the endpoint in ``AWS_ENDPOINT_URL``);
2. the Lambda zips (``make build``), deterministic, so their hashes match what is applied;
3. a PostgreSQL 15 with the ``sql/dw`` and ``sql/oltp`` migrations and a read-only
   dashboard login in the ``dw_reader`` role;
4. ``envs/local`` applied to the emulator, with the hosts' bundles ``make host-bundle`` built
   (placeholders when there are none: the emulator boots no instance, see
   :func:`host_bundle_variables`);
5. the deployed ingest, batcher and ETL artifacts, read back from the emulator and
   hash-checked, the HTTP API adapter in front of the ingest function with the API's own
   routes and CORS, and the SQS poller that plays the batcher's event source mapping (the
   emulator runs none: envs/local creates it disabled, :mod:`clickstream.sqs_batcher`).

Ingest buffers events in SQS (modules/ingest/buffer.tf), so nothing reaches the lake until
the batcher has run: :meth:`LocalPlatform.run_etl` drains the buffer first, as the event
source mapping would have by the time a scheduled ETL runs.

Everything it started is stopped in reverse order when the ``with`` block ends; nothing
outside its temporary folders is written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from clickstream import REPO_ROOT
from clickstream.build import build_lambda
from clickstream.emulator import Emulator, emulator
from clickstream.http_api import HttpApi
from clickstream.lambda_runner import LambdaRunner, run_deployed
from clickstream.postgres import PostgresServer, postgres_server
from clickstream.sqs_batcher import PollResult, SqsBatcherPoller
from clickstream.terraform import Terraform
from clickstream.testing.bundles import ROLES, placeholder_bundles
from clickstream.warehouse import migrate

ENV_LOCAL = REPO_ROOT / "envs" / "local"
OLTP_MIGRATIONS = REPO_ROOT / "sql" / "oltp"
BUILT_BUNDLES = REPO_ROOT / "build" / "hosts"
DASHBOARD_USER = "dashboard"
APP_ID = "shop-web"

Progress = Callable[[str], None]


def _default_progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


@dataclass
class LocalPlatform:
    """Handles on everything :func:`local_platform` started."""

    emulator: Emulator
    pg: PostgresServer
    outputs: dict[str, Any]
    ingest: LambdaRunner
    batcher: LambdaRunner
    buffer: SqsBatcherPoller
    etl: LambdaRunner
    api: HttpApi
    dw_dsn: str
    oltp_dsn: str
    dashboard_dsn: str
    terraform: Terraform
    variables: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    #: One drain at a time: the demo's background poller and an ETL run both drain.
    _drain_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def events_url(self) -> str:
        return f"{self.api.url}/v1/events"

    @property
    def raw_bucket(self) -> str:
        return str(self.outputs["raw_bucket_name"])

    def drain_buffer(self) -> list[PollResult]:
        """Run the deployed batcher over the buffer until it is empty (what the mapping does)."""
        with self._drain_lock:
            return self.buffer.drain()

    def run_etl(self) -> dict[str, Any]:
        """One scheduled ETL run, with the event EventBridge sends on a schedule, after the
        buffered events have been batched into the lake."""
        self.drain_buffer()
        event = {
            "version": "0", "id": os.urandom(8).hex(), "detail-type": "Scheduled Event",
            "source": "aws.events", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": os.environ.get("AWS_REGION", "us-east-1"), "resources": [], "detail": {},
        }
        return self.etl.invoke(event)


def _output(outputs: dict[str, Any], name: str) -> Any:
    if name not in outputs:
        raise KeyError(f"envs/local has no output {name!r} (has {sorted(outputs)})")
    return outputs[name]


def local_variables(ingest: tuple[Path, str], etl: tuple[Path, str], batcher: tuple[Path, str],
                    cors_origins: list[str]) -> dict[str, Any]:
    """Variables for envs/local: the zips just built and the origins the shop is served from."""
    return {
        "ingest_package_path": str(ingest[0]),
        "ingest_package_hash": ingest[1],
        "etl_package_path": str(etl[0]),
        "etl_package_hash": etl[1],
        "batcher_package_path": str(batcher[0]),
        "batcher_package_hash": batcher[1],
        "cors_allow_origins": cors_origins,
        "allowed_app_ids": [APP_ID],
        # Terraform runs in a private copy of modules/ and envs/; artifacts come from the repo.
        "repo_root": str(REPO_ROOT),
    }


def host_bundle_variables(scratch: Path, progress: Progress = _default_progress) -> dict[str, Any]:
    """``host_bundles`` for envs/local: none when ``make host-bundle`` has built both (the env
    reads build/hosts itself), else placeholders written to ``scratch``.

    In the emulator a bundle is only an object in the artifacts bucket (no instance boots), so
    the platform comes up without a build; the progress line says which it used.
    """
    built = [BUILT_BUNDLES / f"{role}.tar.gz" for role in ROLES]
    if all(p.is_file() and p.with_name(p.name + ".sha256").is_file() for p in built):
        return {}
    progress("      no host bundles in build/hosts (`make host-bundle`): uploading placeholders "
             "(the emulator boots no instance)")
    return {"host_bundles": placeholder_bundles(scratch)}


def prepare_warehouse(pg: PostgresServer, dashboard_password: str) -> tuple[str, str, str]:
    """Create and migrate the DW and OLTP databases; return their DSNs and the dashboard's."""
    dw = pg.create_database("dw")
    migrate(dw)
    oltp = pg.create_database("oltp")
    if OLTP_MIGRATIONS.is_dir() and any(OLTP_MIGRATIONS.glob("*.sql")):
        migrate(oltp, OLTP_MIGRATIONS)
    # The dashboards' login is made by the superuser, as on the host (the owner may not).
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE dw_reader").format(
                psycopg.sql.Identifier(DASHBOARD_USER), psycopg.sql.Literal(dashboard_password)
            )
        )
    dashboard = f"postgresql://{DASHBOARD_USER}:{dashboard_password}@{pg.host}:{pg.port}/dw"
    return dw, oltp, dashboard


def _destroy_what_is_applied(tf: Terraform, variables: dict[str, Any]) -> None:
    """Destroy unless the state is already empty (the e2e test destroys it itself, and a
    destroy of nothing still plans, reading every data source, for tens of seconds)."""
    if tf.state().get("resources"):
        tf.destroy(variables)


@contextlib.contextmanager
def local_platform(
    *, cors_origins: list[str] | None = None, api_port: int = 0, progress: Progress = _default_progress,
    fsync: bool = False,
) -> Iterator[LocalPlatform]:
    """Start the platform; yield it; stop everything in reverse order."""
    timings: dict[str, float] = {}
    cors_origins = cors_origins or ["http://127.0.0.1:8000", "http://localhost:8000"]
    with contextlib.ExitStack() as stack:
        def step(n: int, msg: str) -> float:
            progress(f"[{n}/5] {msg}")
            return time.perf_counter()

        t = step(1, "starting the AWS emulator")
        emu = stack.enter_context(emulator())
        saved = {k: os.environ.get(k) for k in emu.env}
        os.environ.update(emu.env)
        stack.callback(lambda: [os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
                                for k, v in saved.items()])
        progress(f"      emulator at {emu.endpoint_url} ({'embedded moto' if emu.embedded else 'external'})")
        timings["emulator"] = time.perf_counter() - t

        t = step(2, "building the Lambda zips (deterministic)")
        ingest_zip = build_lambda("ingest")
        etl_zip = build_lambda("etl")
        batcher_zip = build_lambda("batcher")
        timings["build"] = time.perf_counter() - t

        t = step(3, "starting PostgreSQL 15 and applying the sql/dw and sql/oltp migrations")
        pg = stack.enter_context(postgres_server(fsync=fsync))
        dashboard_password = os.urandom(12).hex()
        dw_dsn, oltp_dsn, dashboard_dsn = prepare_warehouse(pg, dashboard_password)
        progress(f"      PostgreSQL on {pg.host}:{pg.port} (databases dw, oltp)")
        timings["postgres"] = time.perf_counter() - t

        t = step(4, "applying envs/local to the emulator (terraform apply)")
        tf = stack.enter_context(Terraform(ENV_LOCAL, emulator_env=emu.env))
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="local-platform-")))
        variables = {**local_variables(ingest_zip, etl_zip, batcher_zip, cors_origins),
                     **host_bundle_variables(scratch, progress)}
        outputs = tf.apply(variables)
        if not emu.embedded:
            # An external emulator outlives us: leave it as we found it.
            stack.callback(_destroy_what_is_applied, tf, variables)
        timings["terraform_apply"] = time.perf_counter() - t

        t = step(5, "starting the deployed ingest, batcher and ETL artifacts behind the local HTTP API")
        ingest = stack.enter_context(run_deployed(_output(outputs, "ingest_function_name"), ingest_zip[0]))
        batcher = stack.enter_context(run_deployed(_output(outputs, "batcher_function_name"), batcher_zip[0]))
        # release_failed: a message the batcher hands back is retried at once rather than
        # after the 6-minute visibility timeout (the redrive to the DLQ still applies).
        buffer = SqsBatcherPoller(batcher, _output(outputs, "buffer_queue_url"), release_failed=True)
        etl = stack.enter_context(
            run_deployed(_output(outputs, "etl_function_name"), etl_zip[0], env_overrides={"DW_DSN": dw_dsn})
        )
        api = HttpApi.from_emulator(
            _output(outputs, "ingest_api_id"), {ingest.config.name: ingest}, port=api_port
        )
        stack.enter_context(api)
        timings["runners"] = time.perf_counter() - t

        yield LocalPlatform(
            emulator=emu, pg=pg, outputs=outputs, ingest=ingest, batcher=batcher, buffer=buffer, etl=etl,
            api=api, dw_dsn=dw_dsn,
            oltp_dsn=oltp_dsn, dashboard_dsn=dashboard_dsn, terraform=tf, variables=variables,
            timings=timings,
        )
