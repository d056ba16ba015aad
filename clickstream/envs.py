"""Where an environment's files are: the one place deploy, preflight, the security gate and the
tests ask, so none of them knows the folder layout.

``envs/aws`` is the one Terraform root for the real AWS accounts (S3 backend, provider, the
``module "platform"`` call, variables, outputs, moved blocks); an env of it is a folder that
holds only what differs: ``envs/<env>/terraform.tfvars`` and ``envs/<env>/backend.hcl`` (from
its ``backend.hcl.example``). A folder that holds ``*.tf`` itself is a root of its own:
``envs/local``, the emulator's, with local state and the harness's provider. The envs are the
folders, found, not listed: a new account is a new folder with its tfvars.

Terraform runs an account env as::

    TF_DATA_DIR=envs/<env>/.terraform terraform -chdir=envs/aws init -backend-config=../<env>/backend.hcl
    TF_DATA_DIR=envs/<env>/.terraform terraform -chdir=envs/aws plan -var-file=../<env>/terraform.tfvars

The data dir is per env because it holds the initialised backend: with one ``.terraform`` two
envs would plan against whichever state was initialised last. The lock file stays in the root
(one set of providers for every env).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clickstream import REPO_ROOT
from clickstream.tfvars import HclError, read_tfvars

if TYPE_CHECKING:
    from clickstream.terraform import Terraform

#: The shared root of the account envs (``envs/aws``): a root, not an env.
SHARED_ROOT = "aws"
TFVARS = "terraform.tfvars"
BACKEND_CONFIG = "backend.hcl"
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


class EnvError(ValueError):
    """The env does not exist or its files contradict each other; the message says which."""


@dataclass(frozen=True)
class Layout:
    """One env's files. ``root`` is the Terraform root planned (``envs/aws`` or the env's own
    folder), ``folder`` the env's folder; paths are absolute."""

    name: str
    folder: Path
    root: Path
    var_files: tuple[Path, ...]
    backend_config: Path | None
    data_dir: Path

    @property
    def shared(self) -> bool:
        """True when the env is planned from the shared root with its own tfvars."""
        return self.root != self.folder

    def relative(self, path: Path) -> str:
        """``path`` as the root sees it (``../dev/terraform.tfvars``): for ``-chdir`` runs and copies."""
        return os.path.relpath(path, self.root)

    @property
    def root_var_files(self) -> tuple[str, ...]:
        """The tfvars as ``-var-file`` takes them from the root (what :class:`Terraform` is given)."""
        return tuple(self.relative(f) for f in self.var_files)


def _is_root(folder: Path) -> bool:
    return any(folder.glob("*.tf"))


def env_names(repo_root: Path = REPO_ROOT) -> list[str]:
    """Every env: each folder under ``envs/`` but the shared root that holds a tfvars or a root."""
    base = repo_root / "envs"
    return sorted(p.name for p in base.iterdir() if p.is_dir() and p.name != SHARED_ROOT
                  and _NAME.match(p.name) and ((p / TFVARS).is_file() or _is_root(p))) if base.is_dir() else []


def layout(name: str, repo_root: Path = REPO_ROOT) -> Layout:
    """The files of env ``name``; :class:`EnvError` naming the envs that exist when it is none,
    or when its tfvars names another environment (a copied folder planned under the old name)."""
    names = env_names(repo_root)
    if name not in names:
        raise EnvError(f"unknown environment {name!r}: ENV must be one of {', '.join(names) or '(none)'} "
                       "(the folders of envs/; for example `make plan ENV=dev`)")
    folder = repo_root / "envs" / name
    own = _is_root(folder)
    root = folder if own else repo_root / "envs" / SHARED_ROOT
    var_files = tuple(sorted(folder.glob("*.tfvars"), key=lambda p: (p.name != TFVARS, p.name)))
    result = Layout(name=name, folder=folder, root=root, var_files=var_files,
                    backend_config=folder / BACKEND_CONFIG if _has_backend(root) else None,
                    data_dir=folder / ".terraform")
    if not own:
        _check_environment(result)
    return result


def _has_backend(root: Path) -> bool:
    pattern = re.compile(r'^\s*backend\s+"[a-z0-9_]+"\s*\{', re.MULTILINE)
    return any(pattern.search(p.read_text()) for p in root.glob("*.tf"))


def _check_environment(env: Layout) -> None:
    tfvars = env.folder / TFVARS
    try:
        given = read_tfvars(tfvars).get("environment")
    except HclError as exc:
        raise EnvError(str(exc)) from exc
    if given != env.name:
        raise EnvError(f"{tfvars.relative_to(env.folder.parent.parent)} sets environment = {given!r}, but the "
                       f"folder is envs/{env.name}: the names of its resources and its state would be another env's")


def env_terraform(name: str, **kwargs: Any) -> Terraform:
    """A :class:`clickstream.terraform.Terraform` of env ``name``'s root with its tfvars."""
    from clickstream.terraform import Terraform

    env = layout(name)
    return Terraform(env.root, var_files=env.root_var_files, **kwargs)


def terraform_roots(repo_root: Path = REPO_ROOT) -> list[Path]:
    """The Terraform roots under ``envs/`` (the shared root and the envs with a root of their own)."""
    return sorted(p for p in (repo_root / "envs").glob("*") if p.is_dir() and _is_root(p))
