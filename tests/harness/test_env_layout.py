"""Where an env's files are (clickstream.envs) and what `make plan|apply ENV=...` runs with them:
the account envs share envs/aws and keep their tfvars, backend config and data dir apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from clickstream import REPO_ROOT, deploy, envs

pytestmark = pytest.mark.harness


def _tree(tmp_path: Path) -> Path:
    """envs/aws (a root with a backend), envs/dev and envs/qa (tfvars only), envs/local (a root
    without a backend), envs/notes (neither: not an env)."""
    (tmp_path / "envs/aws").mkdir(parents=True)
    (tmp_path / "envs/aws/versions.tf").write_text('terraform {\n  backend "s3" {}\n}\n')
    for name in ("dev", "qa"):
        (tmp_path / "envs" / name).mkdir()
        (tmp_path / "envs" / name / "terraform.tfvars").write_text(f'environment = "{name}"\n')
    (tmp_path / "envs/local").mkdir()
    (tmp_path / "envs/local/main.tf").write_text('module "platform" {\n  source = "../../modules/platform"\n}\n')
    (tmp_path / "envs/notes").mkdir()
    (tmp_path / "envs/notes/README.md").write_text("not an env\n")
    return tmp_path


def test_the_envs_are_the_folders_and_the_shared_root_is_none(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    assert envs.env_names(root) == ["dev", "local", "qa"]
    assert envs.terraform_roots(root) == [root / "envs/aws", root / "envs/local"]


def test_an_account_env_is_planned_from_the_shared_root_with_its_own_files(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    qa = envs.layout("qa", root)
    assert (qa.root, qa.folder, qa.shared) == (root / "envs/aws", root / "envs/qa", True)
    assert qa.root_var_files == ("../qa/terraform.tfvars",)
    assert qa.backend_config == root / "envs/qa/backend.hcl"
    assert qa.data_dir == root / "envs/qa/.terraform"
    local = envs.layout("local", root)
    assert (local.root, local.shared, local.var_files, local.backend_config) == (root / "envs/local", False, (), None)


def test_an_unknown_env_names_the_ones_that_exist(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    for name in ("staging", "aws", "notes", "../envs/dev", ""):
        with pytest.raises(envs.EnvError, match=r"ENV must be one of dev, local, qa \(the folders of envs/"):
            envs.layout(name, root)


def test_a_copied_folder_that_still_names_the_old_env_is_refused(tmp_path: Path) -> None:
    """`cp -r envs/dev envs/qa` without editing: planned, it would create dev's names in qa's state."""
    root = _tree(tmp_path)
    (root / "envs/qa/terraform.tfvars").write_text('environment = "dev"\n')
    with pytest.raises(envs.EnvError, match=r"envs/qa/terraform.tfvars sets environment = 'dev'.*envs/qa"):
        envs.layout("qa", root)


def test_the_repository_envs_dev_and_prod_share_envs_aws() -> None:
    assert envs.env_names() == ["dev", "local", "prod"]
    dev, prod = envs.layout("dev"), envs.layout("prod")
    assert dev.root == prod.root == REPO_ROOT / "envs/aws"
    assert dev.data_dir != prod.data_dir


def test_make_plan_runs_the_shared_root_with_the_envs_backend_and_tfvars(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "envs/qa/backend.hcl").write_text('bucket = "state"\n')
    init, plan = deploy.lifecycle_commands("plan", envs.layout("qa", root), "terraform", root)
    assert init == ["terraform", "-chdir=envs/aws", "init", "-input=false", "-backend-config=../qa/backend.hcl"]
    assert plan == ["terraform", "-chdir=envs/aws", "plan", "-input=false", "-var-file=../qa/terraform.tfvars"]
    init, _ = deploy.lifecycle_commands("plan", envs.layout("dev", root), "terraform", root)
    assert init == ["terraform", "-chdir=envs/aws", "init", "-input=false"]  # no backend.hcl yet: init says so
    local_init, local_apply = deploy.lifecycle_commands("apply", envs.layout("local", root), "terraform", root)
    assert local_init == ["terraform", "-chdir=envs/local", "init", "-input=false"]
    assert local_apply == ["terraform", "-chdir=envs/local", "apply", "-input=false"]


def test_each_env_initialises_into_its_own_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two envs of one root: each `terraform` run of an env gets TF_DATA_DIR=envs/<env>/.terraform,
    so dev's initialised backend is never the one a plan of prod reads."""
    runs: list[tuple[list[str], str, bool]] = []

    class Done:
        returncode = 0

    def run(cmd: list[str], *, cwd: Path, env: dict[str, str], check: bool = False) -> Done:
        assert cwd == REPO_ROOT
        runs.append((cmd, env["TF_DATA_DIR"], check))
        return Done()

    monkeypatch.setattr(deploy, "terraform_binary", lambda: "terraform")
    monkeypatch.setattr(deploy.subprocess, "run", run)
    for name in ("dev", "prod"):
        assert deploy.cmd_lifecycle("plan", name) == 0
    dev, prod = str(REPO_ROOT / "envs/dev/.terraform"), str(REPO_ROOT / "envs/prod/.terraform")
    assert [(cmd[2], data_dir, check) for cmd, data_dir, check in runs] == [
        ("init", dev, True), ("plan", dev, False), ("init", prod, True), ("plan", prod, False),
    ]
    assert [runs[i][0][-1] for i in (1, 3)] == [f"-var-file=../{e}/terraform.tfvars" for e in ("dev", "prod")]
