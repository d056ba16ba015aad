"""Run the deployed Lambda artifact itself, not the source tree.

Neither moto nor LocalStack executes Lambda code without Docker, so the e2e tests and the demo
run functions here. What makes that a test of the deployment rather than of the source:

* the handler, environment, timeout and memory are read back from the emulator, exactly as
  Terraform configured them;
* the zip's base64 SHA-256 must equal the ``CodeSha256`` the emulator recorded, so the code
  that runs is byte for byte the code Terraform deployed;
* it runs on the function's runtime interpreter (python3.12), from the unpacked zip, with the
  runtime's boto3 after it on ``sys.path``, in a long-lived worker process (a warm
  container) that is killed if an invocation outlives the function's timeout.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import subprocess
import tempfile
import threading
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from clickstream import REPO_ROOT
from clickstream.build import b64sha256
from clickstream.prereqs import lambda_python

log = logging.getLogger(__name__)

#: boto3 as the managed runtime provides it (in /var/runtime); the project pin, installed
#: for the runtime's interpreter into a cache folder once.
RUNTIME_BOTO3 = "boto3==1.44.5"
RUNTIME_CACHE = REPO_ROOT / ".cache" / "lambda-runtime"
BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
#: Variables of ours a function may see: the emulator contract, nothing else of the host.
PASSTHROUGH = (
    "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CA_BUNDLE", "AWS_EC2_METADATA_DISABLED", "PATH", "LANG",
)


class LambdaRunnerError(RuntimeError):
    """The artifact cannot be run as deployed (hash mismatch, no runtime, import error)."""


class ArtifactMismatch(LambdaRunnerError):
    """The zip on disk is not the code the emulator says was deployed."""


class LambdaInvokeError(RuntimeError):
    """The handler raised (Lambda's "Unhandled" function error) or timed out."""

    def __init__(self, error_type: str, message: str, stack: str = "") -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.stack = stack


@dataclass(frozen=True)
class FunctionConfig:
    """What the emulator says is deployed."""

    name: str
    handler: str
    runtime: str
    code_sha256: str
    timeout_s: int = 3
    memory_mb: int = 128
    arn: str = ""
    environment: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_emulator(cls, function_name: str, client: Any = None) -> FunctionConfig:
        cfg = (client or boto3.client("lambda")).get_function_configuration(FunctionName=function_name)
        return cls(
            name=cfg["FunctionName"],
            handler=cfg["Handler"],
            runtime=cfg["Runtime"],
            code_sha256=cfg["CodeSha256"],
            timeout_s=int(cfg.get("Timeout", 3)),
            memory_mb=int(cfg.get("MemorySize", 128)),
            arn=cfg.get("FunctionArn", ""),
            environment=dict(cfg.get("Environment", {}).get("Variables", {})),
        )


def runtime_interpreter(runtime: str) -> str:
    if runtime != "python3.12":
        raise LambdaRunnerError(f"runtime {runtime!r} is not supported locally (python3.12 is)")
    found = lambda_python()
    if not found:
        raise LambdaRunnerError("no CPython 3.12 found to run python3.12 Lambdas: `pyenv install 3.12`")
    return found


def runtime_lib(interpreter: str, runtime: str) -> Path:
    """The runtime's own libraries (boto3) for ``interpreter``, installed once and cached."""
    dest = RUNTIME_CACHE / runtime
    marker = dest / ".complete"
    if marker.exists() and marker.read_text().strip() == RUNTIME_BOTO3:
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    proc = subprocess.run(
        [interpreter, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-compile", "--target", str(dest), RUNTIME_BOTO3],
        capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0:
        raise LambdaRunnerError(f"could not install {RUNTIME_BOTO3} for {runtime}: {proc.stderr[-1500:]}")
    marker.write_text(RUNTIME_BOTO3 + "\n")
    return dest


class LambdaRunner:
    """A warm worker running one deployed function from its zip."""

    def __init__(
        self,
        config: FunctionConfig,
        zip_path: Path | str,
        *,
        env_overrides: dict[str, str] | None = None,
        verify: bool = True,
        log_path: Path | None = None,
    ) -> None:
        self.config = config
        self.zip_path = Path(zip_path)
        data = self.zip_path.read_bytes()
        actual = b64sha256(data)
        if verify and actual != config.code_sha256:
            raise ArtifactMismatch(
                f"{self.zip_path} has sha256 {actual} but {config.name} was deployed with "
                f"{config.code_sha256}: rebuild (`make build`) and re-apply"
            )
        self.interpreter = runtime_interpreter(config.runtime)
        self.lib = runtime_lib(self.interpreter, config.runtime)
        self._tmp = tempfile.TemporaryDirectory(prefix=f"lambda-{config.name}-")
        self.task_root = Path(self._tmp.name) / "task"
        with zipfile.ZipFile(self.zip_path) as zf:
            zf.extractall(self.task_root)  # our own artifact, hash-checked above
        self.log_path = log_path or Path(self._tmp.name) / "function.log"
        self.env_overrides = dict(env_overrides or {})
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._log_file = None

    # -- process management ---------------------------------------------------------------------
    def _environment(self) -> dict[str, str]:
        env = {k: os.environ[k] for k in PASSTHROUGH if k in os.environ}
        env.update(self.config.environment)
        env.update(self.env_overrides)
        env.update(
            AWS_LAMBDA_FUNCTION_NAME=self.config.name,
            AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(self.config.memory_mb),
            AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{self.config.name}",
            AWS_LAMBDA_LOG_STREAM_NAME=f"local/{uuid.uuid4().hex}",
            AWS_EXECUTION_ENV=f"AWS_Lambda_{self.config.runtime}",
            LAMBDA_TASK_ROOT=str(self.task_root),
            # As on Lambda (PYTHONPATH=/var/runtime): the runtime's boto3 is importable by the
            # handler and by any child process the handler starts.
            PYTHONPATH=str(self.lib),
            LAMBDA_RUNTIME_DIR=str(self.lib),
            _HANDLER=self.config.handler,
            TZ=":UTC",
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONUNBUFFERED="1",
        )
        return env

    def _start(self) -> None:
        self._log_file = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            [self.interpreter, str(BOOTSTRAP)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log_file,
            env=self._environment(), cwd=self.task_root, text=True, bufsize=1,
        )
        ready = self._read_line(timeout=60)
        if not ready or not ready.get("ready"):
            self._kill()
            detail = ready or {"errorType": "Runtime.ExitError", "errorMessage": self.logs()[-2000:]}
            raise LambdaRunnerError(
                f"{self.config.name}: handler {self.config.handler} failed to load: "
                f"{detail.get('errorType')}: {detail.get('errorMessage')}"
            )

    def _read_line(self, timeout: float) -> dict | None:
        assert self._proc is not None and self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        if not ready:
            return None
        line = self._proc.stdout.readline()
        return json.loads(line) if line else None

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=10)
            self._proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    # -- public API -----------------------------------------------------------------------------
    def invoke(self, event: Any, *, request_id: str | None = None) -> Any:
        """Invoke once; return the handler's result or raise :class:`LambdaInvokeError`."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            assert self._proc is not None and self._proc.stdin is not None
            request = {
                "event": event,
                "request_id": request_id or str(uuid.uuid4()),
                "timeout_ms": self.config.timeout_s * 1000,
                "invoked_function_arn": self.config.arn,
            }
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
            reply = self._read_line(timeout=self.config.timeout_s + 1)
            if reply is None:
                crashed = self._proc.poll() is not None
                self._kill()  # like Lambda: a timed-out or crashed sandbox is discarded
                if crashed:
                    raise LambdaInvokeError("Runtime.ExitError", "the function process exited")
                raise LambdaInvokeError("Sandbox.Timedout", f"Task timed out after {self.config.timeout_s}s")
            if not reply.get("ok"):
                raise LambdaInvokeError(reply.get("errorType", "Error"), reply.get("errorMessage", ""),
                                        reply.get("stackTrace", ""))
            return reply["result"]

    def logs(self) -> str:
        """Everything the function wrote to its log stream so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def close(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.stdin is not None:
                self._proc.stdin.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=5)
            self._kill()
        self._tmp.cleanup()

    def __enter__(self) -> LambdaRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_deployed(function_name: str, zip_path: Path | str, **kwargs: Any) -> LambdaRunner:
    """A runner for ``function_name`` as the emulator has it, checked against ``zip_path``."""
    return LambdaRunner(FunctionConfig.from_emulator(function_name), zip_path, **kwargs)
