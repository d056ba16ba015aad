"""Tests sit where a newcomer looks (CONTRIBUTING.md, "Where a test sits"), and stay there.

* The folder is the layer: a test file under ``tests/<layer>/`` carries ``pytest.mark.<layer>``
  (what `make test-<layer>` selects with ``-m``), and the ``e2e`` mark appears nowhere else.
* ``tests/unit`` needs no PostgreSQL: no test or fixture there asks for ``pg_server`` or
  ``pg_dsn`` (those tests are e2e).
* ``tests/plan/test_<module>.py`` names a Terraform module (or ``envs``), and every module
  with examples has one.
* A module example plans on its own: each required variable is in the example's own
  ``terraform.tfvars`` unless it is a build output (a Lambda zip or a host bundle, whose hash
  changes with every build, so the plan passes it in).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from clickstream import REPO_ROOT
from clickstream.tfdocs import module_dirs
from clickstream.tfvars import parse_file, read_tfvars

pytestmark = pytest.mark.harness

TESTS = REPO_ROOT / "tests"
LAYERS = ("unit", "plan", "policy", "e2e", "browser", "harness")
POSTGRES_FIXTURES = frozenset({"pg_server", "pg_dsn"})
#: Inputs built by `make build` / `make host-bundle` at plan time (clickstream.security.plan_variables).
BUILD_OUTPUTS = ("package_path", "package_hash", "bundle")


def _test_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("test_*.py") if "fixtures" not in p.relative_to(TESTS).parts)


def _marks(tree: ast.Module) -> set[str]:
    """Every ``pytest.mark.<name>`` the file uses, at module level or on a test."""
    return {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
            and node.value.attr == "mark" and isinstance(node.value.value, ast.Name)
            and node.value.value.id == "pytest"}


def _module_marks(tree: ast.Module) -> set[str]:
    """The marks of the module-level ``pytestmark``."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            return _marks(ast.Module(body=[node], type_ignores=[]))
    return set()


@pytest.mark.parametrize("path", _test_files(), ids=lambda p: str(p.relative_to(TESTS)))
def test_the_folder_is_the_layer(path: Path) -> None:
    layer = path.relative_to(TESTS).parts[0]
    assert layer in LAYERS, f"{path}: tests/{layer}/ is not a layer ({', '.join(LAYERS)})"
    tree = ast.parse(path.read_text())
    assert layer in _module_marks(tree), f"{path}: pytestmark must include pytest.mark.{layer}"
    if layer != "e2e":
        assert "e2e" not in _marks(tree), f"{path}: an e2e test belongs under tests/e2e/"


def _requested_fixtures(tree: ast.Module) -> set[str]:
    return {arg.arg for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            for arg in node.args.args + node.args.kwonlyargs}


@pytest.mark.parametrize("path", sorted((TESTS / "unit").rglob("*.py")), ids=lambda p: str(p.relative_to(TESTS)))
def test_unit_tests_need_no_postgresql(path: Path) -> None:
    asked = _requested_fixtures(ast.parse(path.read_text())) & POSTGRES_FIXTURES
    assert not asked, f"{path} asks for {sorted(asked)}: a test that needs PostgreSQL is e2e (tests/e2e/)"


def _module_names() -> dict[str, Path]:
    """Terraform modules by the names a plan test may use: ``network``, ``internal_kms_key``."""
    names = {}
    for path in module_dirs(REPO_ROOT):
        rel = path.relative_to(REPO_ROOT / "modules") if path.is_relative_to(REPO_ROOT / "modules") else None
        if rel is not None:
            names["_".join(rel.parts)] = path
    return names


def test_every_plan_test_names_a_module() -> None:
    modules = _module_names()
    for path in sorted((TESTS / "plan").glob("test_*.py")):
        name = path.stem.removeprefix("test_")
        assert name == "envs" or name in modules, f"{path}: no modules/{name.replace('_', '/')} (nor envs)"


def test_every_module_with_examples_has_a_plan_test() -> None:
    for name, path in sorted(_module_names().items()):
        if (path / "examples").is_dir():
            plan_test = TESTS / "plan" / f"test_{name}.py"
            assert plan_test.is_file(), f"{path}/examples: planned by no tests/plan/test_{name}.py"


def _examples() -> list[Path]:
    return sorted({tf.parent for tf in (REPO_ROOT / "modules").rglob("examples/*/*.tf")})


@pytest.mark.parametrize("example", _examples(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_an_example_plans_with_its_own_tfvars(example: Path) -> None:
    required = [block.labels[0] for tf in sorted(example.glob("*.tf")) for block in parse_file(tf).blocks_of("variable")
                if "default" not in block.body.attributes]
    given: dict = {}
    for tfvars in [example / "terraform.tfvars", *sorted(example.glob("*.auto.tfvars"))]:
        if tfvars.is_file():
            given.update(read_tfvars(tfvars))
    missing = [name for name in required if name not in given and not name.endswith(BUILD_OUTPUTS)]
    assert not missing, f"{example}: required {missing} set by no terraform.tfvars"


def test_test_file_names_are_unique() -> None:
    """pytest imports test files by their base name (no packages under tests/), so two files
    of one name stop the whole collection ("import file mismatch")."""
    seen: dict[str, Path] = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        assert path.name not in seen, f"{path} and {seen[path.name]} share a name: rename one"
        seen[path.name] = path
