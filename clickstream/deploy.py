"""`make plan|apply|destroy ENV=...`, `make lint` and `make fmt` for the Terraform code.

The same CLI config the tests use (offline provider mirror, plugin cache) applies here, so a
deploy on a machine without internet behaves like CI. ``dev`` and ``prod`` run in place
against real AWS: the one root ``envs/aws`` with the env's tfvars, its ``backend.hcl`` and its
own ``TF_DATA_DIR`` (:mod:`clickstream.envs` says where each is); ``local`` targets the
emulator in AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from clickstream import REPO_ROOT, envs
from clickstream.terraform import Terraform, TerraformError, base_env, terraform_binary

FMT_DIRS = ("modules", "envs", "tests")


class DeployError(RuntimeError):
    """Bad input (unknown env, missing tool) with a message for the user."""


def env_layout(name: str) -> envs.Layout:
    try:
        return envs.layout(name)
    except envs.EnvError as exc:
        raise DeployError(str(exc)) from exc


def terraform_roots() -> list[Path]:
    """Every module, module example and env root that holds Terraform code."""
    roots: list[Path] = []
    for pattern in ("modules/*", "modules/*/examples/*"):
        roots += [p for p in sorted(REPO_ROOT.glob(pattern)) if p.is_dir() and any(p.glob("*.tf"))]
    return roots + envs.terraform_roots()


def cmd_fmt(check: bool) -> int:
    dirs = [d for d in FMT_DIRS if (REPO_ROOT / d).is_dir()]
    args = [terraform_binary(), "fmt", "-recursive"] + (["-check", "-diff"] if check else [])
    rc = 0
    for d in dirs:
        rc |= subprocess.run([*args, d], cwd=REPO_ROOT, env=base_env()).returncode
    if rc and check:
        print("terraform fmt found unformatted files: run `make fmt`", file=sys.stderr)
    return rc


def cmd_validate() -> int:
    roots = terraform_roots()
    if not roots:
        print("no Terraform roots yet", file=sys.stderr)
        return 0
    failed = 0
    for i, root in enumerate(roots, 1):
        rel = root.relative_to(REPO_ROOT)
        try:
            with Terraform(root) as tf:
                tf.validate()
            print(f"[{i}/{len(roots)}] valid    {rel}")
        except TerraformError as exc:
            failed += 1
            print(f"[{i}/{len(roots)}] INVALID  {rel}\n{exc}", file=sys.stderr)
    return 1 if failed else 0


def lifecycle_commands(action: str, env: envs.Layout, binary: str, repo_root: Path = REPO_ROOT) -> list[list[str]]:
    """``init`` and ``action`` for ``env``, run from the repository root with ``-chdir``."""
    chdir = f"-chdir={env.root.relative_to(repo_root).as_posix()}"
    init = [binary, chdir, "init", "-input=false"]
    if env.backend_config is not None and env.backend_config.exists():
        init.append(f"-backend-config={env.relative(env.backend_config)}")
    var_args = [f"-var-file={f}" for f in env.root_var_files]
    return [init, [binary, chdir, action, "-input=false", *var_args]]


def cmd_lifecycle(action: str, name: str) -> int:
    env = env_layout(name)
    binary = terraform_binary()
    # The initialised backend lives in the data dir: one per env, so two envs of one root
    # never plan against each other's state.
    tf_env = base_env({"TF_DATA_DIR": str(env.data_dir)})
    if name == "local" and not tf_env.get("AWS_ENDPOINT_URL"):
        raise DeployError(
            "ENV=local targets the AWS emulator: set AWS_ENDPOINT_URL (e.g. the endpoint "
            "`make demo` prints) or run `make demo`, which applies envs/local itself"
        )
    init, command = lifecycle_commands(action, env, binary)
    subprocess.run(init, cwd=REPO_ROOT, env=tf_env, check=True)
    return subprocess.run(command, cwd=REPO_ROOT, env=tf_env).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fmt", help="terraform fmt -recursive")
    f.add_argument("--check", action="store_true")
    sub.add_parser("validate", help="terraform validate of every module, example and env")
    for action in ("plan", "apply", "destroy"):
        p = sub.add_parser(action, help=f"terraform {action} of one environment")
        p.add_argument("--env", required=True)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "fmt":
            return cmd_fmt(args.check)
        if args.cmd == "validate":
            return cmd_validate()
        return cmd_lifecycle(args.cmd, args.env)
    except (DeployError, TerraformError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"error: `{' '.join(map(str, exc.cmd))}` failed (exit {exc.returncode})", file=sys.stderr)
        return exc.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
