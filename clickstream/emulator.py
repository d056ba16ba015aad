"""The AWS emulator the harness talks to.

One contract for every emulator: a single endpoint URL in ``AWS_ENDPOINT_URL``, fake
credentials, path-style S3. If ``AWS_ENDPOINT_URL`` is already set (a running LocalStack or
moto), it is used as is and never reset by us unless it is moto; otherwise an embedded moto
``ThreadedMotoServer`` is started on a free loopback port.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlparse

from clickstream.net import free_port, wait_for_port

DEFAULT_REGION = "us-east-1"
#: moto knows AWS-managed IAM policies (AmazonSSMManagedInstanceCore, which the hosts attach)
#: only when this is set before its IAM backend is built.
MANAGED_POLICIES = ("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

#: Environment every AWS client (boto3, the aws provider, the Lambda runner) needs to talk
#: to the emulator. Credentials are fake by design: nothing here can reach a real account.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",  # emulator credential, not a secret
    "AWS_DEFAULT_REGION": DEFAULT_REGION,
    "AWS_REGION": DEFAULT_REGION,
}


@dataclass
class Emulator:
    """A reachable emulator endpoint and how to talk to it."""

    endpoint_url: str
    embedded: bool
    _server: object | None = field(default=None, repr=False)

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point boto3 and Terraform at this emulator."""
        env = dict(FAKE_CREDENTIALS)
        env["AWS_ENDPOINT_URL"] = self.endpoint_url
        # The aws provider and boto3 must never try instance metadata or a real profile.
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        env["AWS_PROFILE"] = ""
        return {k: v for k, v in env.items() if v != ""}

    @property
    def is_moto(self) -> bool:
        """True if the endpoint answers moto's management API (embedded or external)."""
        if self.embedded:
            return True
        try:
            with urllib.request.urlopen(  # noqa: S310 - loopback emulator URL
                f"{self.endpoint_url}/moto-api/", timeout=2
            ) as r:
                return r.status == 200
        except OSError:
            return False

    def reset(self) -> None:
        """Forget every resource (moto only; a no-op for other emulators)."""
        if not self.is_moto:
            return
        req = urllib.request.Request(  # noqa: S310 - loopback emulator URL
            f"{self.endpoint_url}/moto-api/reset", method="POST"
        )
        with urllib.request.urlopen(req, timeout=60):  # noqa: S310 - a busy moto can take a while
            pass

    def stop(self) -> None:
        """Stop the embedded server (an external endpoint is left alone)."""
        if self._server is not None:
            self._server.stop()  # type: ignore[attr-defined]
            self._server = None


def start_embedded(port: int | None = None, host: str = "127.0.0.1") -> Emulator:
    """Start moto's threaded server on loopback and wait until it answers."""
    import logging

    from moto.server import ThreadedMotoServer

    from clickstream.moto_server import patch_moto

    patch_moto()
    os.environ.setdefault(*MANAGED_POLICIES)
    # One access-log line per AWS call drowns the output of a Terraform apply.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    port = port or free_port(host)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    wait_for_port(host, port, timeout=30)
    return Emulator(endpoint_url=f"http://{host}:{port}", embedded=True, _server=server)


class _ProcessServer:
    """moto's server in its own process (same HTTP API as the threaded one)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def start_process(port: int | None = None, host: str = "127.0.0.1") -> Emulator:
    """Start moto's server as a separate process.

    Benchmarks use this: an in-process server competes for the GIL with the code being
    measured, which would charge the emulator's work to the ETL or the ingest handler.
    """
    port = port or free_port(host)
    proc = subprocess.Popen(
        [sys.executable, "-m", "clickstream.moto_server", "-H", host, "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, MANAGED_POLICIES[0]: "true"},
    )
    try:
        wait_for_port(host, port, timeout=60)
    except TimeoutError:
        proc.kill()
        raise
    return Emulator(endpoint_url=f"http://{host}:{port}", embedded=True, _server=_ProcessServer(proc))


@contextmanager
def emulator(environ: Mapping[str, str] | None = None, *, out_of_process: bool = False) -> Iterator[Emulator]:
    """Yield an emulator: the one in ``AWS_ENDPOINT_URL`` or a freshly started moto.

    ``out_of_process`` starts moto as its own process instead of a thread of this one.
    """
    environ = os.environ if environ is None else environ
    external = environ.get("AWS_ENDPOINT_URL", "").strip()
    if external:
        parsed = urlparse(external)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"AWS_ENDPOINT_URL is not an http(s) URL: {external!r}")
        yield Emulator(endpoint_url=external.rstrip("/"), embedded=False)
        return
    emu = start_process() if out_of_process else start_embedded()
    try:
        yield emu
    finally:
        emu.stop()
