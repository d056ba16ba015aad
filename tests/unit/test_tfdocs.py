"""The README tables generator (clickstream.tfdocs): what it renders, what its check refuses.

Each test builds a small module in a temporary directory, so an odd variable set (no
description, a nested object type, a computed default, pipes and newlines in a description)
is exercised without touching the tree; the last test checks the tree itself is current.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from clickstream import REPO_ROOT, tfdocs

pytestmark = pytest.mark.unit

ODD_VARIABLES = '''
variable "name" {
  description = "Name prefix | used in s3://<name>/ and `<name>-key`."
  type        = string
}

variable "settings" {
  description = <<-EOT
    Function settings.
    Second line.
  EOT
  type = object({
    memory = optional(number, 512)
    # a comment inside the type is not part of the table
    email = optional(object({
      from = optional(string)
    }), {})
  })
  default = {}
}

variable "zones" {
  description = "Zones."
  type        = list(string)
  default     = ["a", "b"]
}

variable "computed" {
  description = "A default that is an expression."
  default     = null
}

variable "secret_less" {
  type = string
}
'''

OUTPUTS = '''
output "arn" {
  description = "The ARN."
  value       = "x"
}

output "bare" {
  value = "y"
}
'''


def make_module(tmp_path: Path, variables: str = ODD_VARIABLES, outputs: str = OUTPUTS,
                readme: str | None = f"# m\n\nProse.\n\n{tfdocs.BEGIN}\n{tfdocs.END}\n\nAfter.\n") -> Path:
    mod = tmp_path / "modules" / "m"
    mod.mkdir(parents=True)
    (mod / "variables.tf").write_text(variables)
    (mod / "outputs.tf").write_text(outputs)
    if readme is not None:
        (mod / "README.md").write_text(readme)
    return mod


def test_a_variable_and_an_output_without_description_fail_the_check_by_name(tmp_path: Path) -> None:
    mod = make_module(tmp_path)
    result = tfdocs.run([mod], write=False, root=tmp_path)
    assert any("variable 'secret_less' has no description" in p for p in result.problems)
    assert any("output 'bare' has no description" in p for p in result.problems)
    # The location is the file and line of the block, relative to the root.
    assert any(p.startswith("modules/m/variables.tf:") and "secret_less" in p for p in result.problems)
    assert len(result.problems) == 2


def test_a_blank_description_counts_as_none(tmp_path: Path) -> None:
    mod = make_module(tmp_path, variables='variable "x" {\n  description = "  "\n}\n', outputs="")
    assert tfdocs.run([mod], write=False, root=tmp_path).problems == [
        "modules/m/variables.tf:1: variable 'x' has no description"]


def test_tables_render_types_defaults_and_required(tmp_path: Path) -> None:
    module = tfdocs.read_module(make_module(tmp_path))
    table = tfdocs.render(module)
    rows = {line.split("](#")[0].split("[")[-1]: line for line in table.splitlines() if line.startswith("| <a")}
    assert rows["name"].endswith("| `string` | n/a | yes |")
    # A pipe cannot end the cell; <name> outside a code span is text, not an HTML tag.
    assert "Name prefix \\| used in s3://&lt;name&gt;/ and `<name>-key`." in rows["name"]
    # The nested object type is shown whole, one <br/> per line, without the comment line.
    assert ("<pre>object({<br/>    memory = optional(number, 512)<br/>    email = optional(object({<br/>"
            in rows["settings"])
    assert "a comment" not in rows["settings"]
    assert "Function settings.<br/>Second line." in rows["settings"]
    assert rows["settings"].endswith("| `{}` | no |")
    assert rows["zones"].endswith('| `list(string)` | `["a", "b"]` | no |')
    # No type is `any`, and a null default is a default: the variable is optional.
    assert rows["computed"].endswith("| `any` | `null` | no |")
    assert "| <a name=\"output_arn\"></a> [arn](#output_arn) | The ARN. |" in table
    assert table.startswith(tfdocs.BEGIN) and table.endswith(tfdocs.END)


def test_long_defaults_are_shown_indented_and_html_in_types_escaped(tmp_path: Path) -> None:
    variables = ('variable "m" {\n  description = "d"\n  type = map(object({\n    a = string\n  }))\n'
                 '  default = {"key-one-is-long" = {a = "aaaaaaaaaaaaaaaa"}, "key-two-is-long" = {a = "b"}}\n}\n')
    module = tfdocs.read_module(make_module(tmp_path, variables=variables, outputs=""))
    row = next(line for line in tfdocs.render(module).splitlines() if "input_m" in line)
    assert '<pre>{<br/>  "key-one-is-long": {<br/>    "a": "aaaaaaaaaaaaaaaa"<br/>  },' in row
    assert "No outputs." in tfdocs.render(module)


def test_write_replaces_only_between_markers_and_is_idempotent(tmp_path: Path) -> None:
    mod = make_module(tmp_path, variables='variable "x" {\n  description = "X."\n}\n', outputs="")
    first = tfdocs.run([mod], write=True, root=tmp_path)
    assert first.problems == [] and first.stale == [mod / "README.md"]
    text = (mod / "README.md").read_text()
    assert text.startswith("# m\n\nProse.\n\n" + tfdocs.BEGIN) and text.endswith(tfdocs.END + "\n\nAfter.\n")
    assert "[x](#input_x) | X. | `any` | n/a | yes |" in text
    second = tfdocs.run([mod], write=True, root=tmp_path)
    assert second.stale == [] and (mod / "README.md").read_text() == text
    assert tfdocs.run([mod], write=False, root=tmp_path) == tfdocs.Result([], [])


def test_a_changed_variable_makes_the_readme_stale(tmp_path: Path) -> None:
    mod = make_module(tmp_path, variables='variable "x" {\n  description = "X."\n}\n', outputs="")
    tfdocs.run([mod], write=True, root=tmp_path)
    (mod / "variables.tf").write_text('variable "x" {\n  description = "X, now with more."\n}\n')
    assert tfdocs.run([mod], write=False, root=tmp_path).stale == [mod / "README.md"]


def test_a_readme_without_markers_is_an_error_naming_it(tmp_path: Path) -> None:
    mod = make_module(tmp_path, outputs="", variables='variable "x" {\n  description = "X."\n}\n',
                      readme="# m\n\nNo markers here.\n")
    result = tfdocs.run([mod], write=False, root=tmp_path)
    assert len(result.problems) == 1
    assert result.problems[0].startswith("modules/m/README.md: no <!-- BEGIN_TF_DOCS -->")
    # --write appends them (after the prose) instead of failing.
    assert tfdocs.run([mod], write=True, root=tmp_path).problems == []
    assert (mod / "README.md").read_text().startswith("# m\n\nNo markers here.\n\n" + tfdocs.BEGIN)


@pytest.mark.parametrize("readme", [
    f"{tfdocs.END}\n{tfdocs.BEGIN}\n",
    f"{tfdocs.BEGIN}\n{tfdocs.END}\n{tfdocs.BEGIN}\n{tfdocs.END}\n",
    f"{tfdocs.BEGIN}\n",
])
def test_broken_markers_are_an_error_even_for_write(tmp_path: Path, readme: str) -> None:
    mod = make_module(tmp_path, outputs="", variables='variable "x" {\n  description = "X."\n}\n', readme=readme)
    for write in (False, True):
        problems = tfdocs.run([mod], write=write, root=tmp_path).problems
        assert problems == [f"modules/m/README.md: needs exactly one {tfdocs.BEGIN} followed by one {tfdocs.END}"]
    assert (mod / "README.md").read_text() == readme


def test_a_missing_readme_fails_the_check_and_write_starts_one(tmp_path: Path) -> None:
    mod = make_module(tmp_path, outputs="", variables='variable "x" {\n  description = "X."\n}\n', readme=None)
    assert tfdocs.run([mod], write=False, root=tmp_path).problems == [
        "modules/m/README.md: missing (every module has a README; `make docs` starts one)"]
    tfdocs.run([mod], write=True, root=tmp_path)
    assert (mod / "README.md").read_text().startswith(f"# modules/m\n\n{tfdocs.BEGIN}\n## Inputs")


def test_module_dirs_skip_examples_and_tests(tmp_path: Path) -> None:
    for rel in ("modules/a", "modules/a/examples/basic", "modules/a/tests/x", "modules/internal/kms_key",
                "envs/dev", "modules/b/templates"):
        (tmp_path / rel).mkdir(parents=True)
    for rel in ("modules/a", "modules/a/examples/basic", "modules/a/tests/x", "modules/internal/kms_key", "envs/dev"):
        (tmp_path / rel / "main.tf").write_text("")
    found = [p.relative_to(tmp_path).as_posix() for p in tfdocs.module_dirs(tmp_path)]
    assert found == ["envs/dev", "modules/a", "modules/internal/kms_key"]


def test_the_tree_is_current_and_the_cli_says_so() -> None:
    """Every module README in the repository carries current tables (`make docs` after a change)."""
    proc = subprocess.run([sys.executable, "-m", "clickstream.tfdocs", "--check"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
