"""Drive Terraform the same way on a laptop, in CI and in tests.

Why a runner and not bare ``terraform`` calls:

* providers cannot be downloaded on these machines, so every run gets a CLI config of our
  own with a ``filesystem_mirror`` at ``/opt/tf-plugins`` when that exists (else a ``direct``
  install), plus a shared plugin cache so the 600 MB aws provider is not copied per root;
* tests must never leave ``.terraform/`` or state in the repo and may run side by side, so a
  root is copied with the module tree into a private temporary directory;
* against the emulator the provider gets fake credentials and path-style S3 through an
  ``_override.tf`` file, and any remote backend is swapped for a local one.

Why not tftest (``tftest`` 1.8.8 on PyPI, the helper of cloud-foundation-fabric's tests),
evaluated for issue 14 from its source: of the above it would replace only :meth:`Terraform.run`
and the ``plan -out`` + ``show -json`` pair, about 20 lines, and what it brings instead would
have to be worked around line by line:

* it runs in the module folder itself and links ``extra_files`` into it (``setup``), leaving
  ``.terraform/`` and state there until a finalizer runs; our tests and the security gate
  plan the same roots side by side, so the private copy stays either way;
* ``tf_vars`` become ``-var k=v`` with ``str(v)``: ``True`` reaches Terraform as ``True``
  (refused: "a bool is required; to convert from string, use lowercase true") and ``None``
  as the string ``"None"``; we write a ``tfvars.json`` file, which keeps every type;
* it raises only for exit codes 1 and 11, with the whole stdout before stderr in the message
  (a plan's stdout is thousands of lines); we raise for any non-zero exit with the command,
  the root and terraform's stderr;
* it has no timeout: a provider waiting on a dead emulator endpoint hangs the caller; ours
  bound every command (900 s, 1200 s for apply/destroy);
* it returns ``Mapping`` wrappers (``TerraformPlanOutput``, ``TerraformValueDict``), not the
  JSON the callers pass on (``json.dumps`` in the gate, the inventory comparison).

The CLI config with the offline mirror and the plugin cache, and the emulator overrides,
are ours in both cases (tftest passes ``env`` through). So the runner stays hand-written;
it is small, and each of its choices is tested in tests/harness/test_terraform_runner.py.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from clickstream import REPO_ROOT

log = logging.getLogger(__name__)

PLUGIN_MIRROR = Path("/opt/tf-plugins")
CACHE_ROOT = REPO_ROOT / ".cache" / "terraform"
#: Top-level folders that hold Terraform code; copied together so relative module sources
#: (``../../modules/x``) keep working in the private copy.
TF_TREES = ("modules", "envs")
_IGNORE = shutil.ignore_patterns(".terraform", "*.tfstate", "*.tfstate.*", "*.tfplan", "__pycache__")

INSTALL_HINT = (
    "Terraform 1.11.x is required. Install it from HashiCorp's release archive or package "
    "repository (https://developer.hashicorp.com/terraform/install) and make sure `terraform` "
    "is on PATH, or set TERRAFORM=/path/to/terraform."
)


class TerraformError(RuntimeError):
    """A terraform command failed; the message carries the command and its stderr."""


def terraform_binary() -> str:
    """Path of the terraform executable, or a clear error saying how to get one."""
    explicit = os.environ.get("TERRAFORM")
    candidate = explicit or shutil.which("terraform")
    if not candidate or not (Path(candidate).is_file() and os.access(candidate, os.X_OK)):
        raise TerraformError(f"terraform not found ({explicit or 'not on PATH'}). {INSTALL_HINT}")
    return candidate


def write_cli_config(cache_root: Path = CACHE_ROOT, mirror: Path = PLUGIN_MIRROR) -> Path:
    """Write the project's Terraform CLI config and return its path.

    Machines here point ``TF_CLI_CONFIG_FILE`` at a file that does not exist, so the project
    must bring its own. With the offline mirror present only the mirror is used, so a missing
    provider fails fast instead of hanging on a download.
    """
    cache_root.mkdir(parents=True, exist_ok=True)
    plugin_cache = cache_root / "plugin-cache"
    plugin_cache.mkdir(parents=True, exist_ok=True)
    if mirror.is_dir():
        install = f'  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n'
    else:
        install = "  direct {}\n"
    text = (
        f'plugin_cache_dir = "{plugin_cache}"\n'
        "plugin_cache_may_break_dependency_lock_file = true\n"
        "disable_checkpoint = true\n"
        f"provider_installation {{\n{install}}}\n"
    )
    path = cache_root / "terraform.rc"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for terraform: our CLI config, no prompts, no colour, plus ``extra``."""
    env = dict(os.environ)
    env.update(
        TF_CLI_CONFIG_FILE=str(write_cli_config()),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
    )
    if extra:
        env.update(extra)
    return env


EMULATOR_PROVIDER = """\
# Written by clickstream.terraform for runs against the AWS emulator. The endpoint itself
# comes from AWS_ENDPOINT_URL, which the aws provider honours for every service.
provider "aws" {
  region                      = "%(region)s"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true
}
"""


def _has_aws_provider_block(root: Path) -> bool:
    pattern = re.compile(r'^\s*provider\s+"aws"\s*\{', re.MULTILINE)
    return any(pattern.search(p.read_text()) for p in root.glob("*.tf"))


def _has_backend_block(root: Path) -> bool:
    pattern = re.compile(r'^\s*backend\s+"[a-z0-9_]+"\s*\{', re.MULTILINE)
    return any(pattern.search(p.read_text()) for p in root.glob("*.tf"))


class Terraform:
    """One Terraform root module, copied into a private working directory.

    ``source`` is a root inside the repository (``envs/aws``, ``envs/local``,
    ``modules/x/examples/y``, a test fixture). ``var_files`` are tfvars files read before the
    caller's variables, as paths relative to the root (an account env's
    ``../dev/terraform.tfvars``: the copy holds the whole ``envs/`` tree, so they resolve the
    same there; :func:`clickstream.envs.layout` gives them). ``emulator_env`` is the environment from
    :attr:`clickstream.emulator.Emulator.env`; when given, provider and backend overrides for
    the emulator are written into the copy.
    """

    def __init__(
        self,
        source: Path | str,
        *,
        emulator_env: Mapping[str, str] | None = None,
        workdir: Path | None = None,
        region: str = "us-east-1",
        var_files: tuple[str, ...] = (),
    ) -> None:
        self.source = Path(source).resolve()
        self.var_files = tuple(var_files)
        if not self.source.is_dir() or not any(self.source.glob("*.tf")):
            raise TerraformError(f"{self.source} is not a Terraform root (no *.tf files)")
        self.binary = terraform_binary()
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="tf-")
        base = Path(workdir) if workdir else Path(self._tmp.name)  # type: ignore[union-attr]
        self.dir = self._copy_tree(base)
        self.env = base_env(emulator_env)
        self.emulated = emulator_env is not None
        if self.emulated:
            self._write_overrides(region)
        self._initialised = False

    # -- set-up -------------------------------------------------------------------------------
    def _copy_tree(self, base: Path) -> Path:
        try:
            rel = self.source.relative_to(REPO_ROOT)
        except ValueError:
            # A root outside the repo (a test's tmp_path): copy it alone.
            dest = base / self.source.name
            shutil.copytree(self.source, dest, ignore=_IGNORE, dirs_exist_ok=True)
            return dest
        trees = set(TF_TREES) | {rel.parts[0]}
        for top in sorted(trees):
            src = REPO_ROOT / top
            if top == rel.parts[0] and top not in TF_TREES:
                # Copy only the root itself from non-Terraform trees (tests/...).
                shutil.copytree(self.source, base / rel, ignore=_IGNORE, dirs_exist_ok=True)
            elif src.is_dir():
                shutil.copytree(src, base / top, ignore=_IGNORE, dirs_exist_ok=True)
        return base / rel

    def _write_overrides(self, region: str) -> None:
        provider = EMULATOR_PROVIDER % {"region": region}
        if _has_aws_provider_block(self.dir):
            (self.dir / "zz_harness_override.tf").write_text(provider)
        else:
            (self.dir / "zz_harness_provider.tf").write_text(provider)
        if _has_backend_block(self.dir):
            (self.dir / "zz_harness_backend_override.tf").write_text(
                'terraform {\n  backend "local" {}\n}\n'
            )

    # -- commands -------------------------------------------------------------------------------
    def run(self, *args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``terraform <args>`` in the working copy; raise TerraformError on failure."""
        cmd = [self.binary, *args]
        log.info("terraform %s (%s)", " ".join(args), self.source.name)
        proc = subprocess.run(
            cmd, cwd=self.dir, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and proc.returncode != 0:
            raise TerraformError(
                f"`terraform {' '.join(args)}` failed in {self.source} (exit {proc.returncode}):\n"
                f"{proc.stderr.strip() or proc.stdout.strip()}"
            )
        return proc

    def init(self, *, backend: bool = True) -> None:
        if not self._initialised:
            self.run("init", "-input=false", "-no-color", f"-backend={str(backend).lower()}")
            self._initialised = True

    def _var_args(self, variables: Mapping[str, Any] | None) -> list[str]:
        """The env's tfvars first, then the caller's variables (a later -var-file wins)."""
        args = [f"-var-file={f}" for f in self.var_files]
        if not variables:
            return args
        path = self.dir / "zz_harness.tfvars.json"
        path.write_text(json.dumps(variables, indent=2, default=str))
        return [*args, f"-var-file={path.name}"]

    def validate(self) -> dict:
        # Validation needs no state: skip the backend, so envs with a (partially configured)
        # S3 backend validate offline and without credentials.
        self.init(backend=False)
        proc = self.run("validate", "-json", "-no-color", check=False)
        result = json.loads(proc.stdout)
        if not result.get("valid"):
            raise TerraformError(f"terraform validate failed in {self.source}: {proc.stdout}")
        return result

    def plan(self, variables: Mapping[str, Any] | None = None, *, extra: tuple[str, ...] = ()) -> dict:
        """Plan and return ``terraform show -json`` of the saved plan."""
        self.init()
        self.run("plan", "-input=false", "-no-color", "-out=harness.tfplan", *self._var_args(variables), *extra)
        proc = self.run("show", "-json", "-no-color", "harness.tfplan")
        return json.loads(proc.stdout)

    def plan_error(self, variables: Mapping[str, Any] | None = None) -> str:
        """Plan expecting failure; return the error text (raises if the plan succeeds)."""
        self.init()
        proc = self.run("plan", "-input=false", "-no-color", *self._var_args(variables), check=False)
        if proc.returncode == 0:
            raise AssertionError(f"plan of {self.source} succeeded but was expected to fail")
        return proc.stderr + proc.stdout

    def apply(self, variables: Mapping[str, Any] | None = None, *, timeout: float = 1200) -> dict[str, Any]:
        """Apply and return the root outputs as plain values."""
        self.init()
        self.run("apply", "-input=false", "-no-color", "-auto-approve", *self._var_args(variables), timeout=timeout)
        return self.outputs()

    def outputs(self) -> dict[str, Any]:
        proc = self.run("output", "-json", "-no-color")
        return {k: v["value"] for k, v in json.loads(proc.stdout or "{}").items()}

    def destroy(self, variables: Mapping[str, Any] | None = None, *, timeout: float = 1200) -> None:
        self.init()
        self.run("destroy", "-input=false", "-no-color", "-auto-approve", *self._var_args(variables), timeout=timeout)

    def state(self) -> dict:
        """The local state as JSON (only meaningful after apply with the local backend)."""
        path = self.dir / "terraform.tfstate"
        return json.loads(path.read_text()) if path.exists() else {}

    def cleanup(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Terraform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
