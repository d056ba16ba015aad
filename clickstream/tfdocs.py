"""Variable and output tables in every module's README, as terraform-docs writes them.

``python -m clickstream.tfdocs --check`` (in ``make lint`` and the pre-commit hook) exits 1
and names every README whose tables are stale, every variable or output without a
description, and every README without the ``<!-- BEGIN_TF_DOCS -->`` / ``<!-- END_TF_DOCS -->``
markers; ``--write`` (``make docs``) rewrites what lies between the markers (and appends the
markers to a README that has none, and starts a README where a module has none), so a
second ``--write`` changes nothing.

Why not terraform-docs itself: it is a Go binary published only as GitHub release assets,
and these machines reach PyPI, Debian and npm only; none of them ships it (PyPI's ``tfdocs``
is another tool: variables only, no outputs, no check mode). Why not python-hcl2: it is not a
dependency, and :mod:`clickstream.tfvars` already tokenises HCL properly and keeps
non-literal expressions (types, computed defaults) as their source text, which is exactly
what a table shows. The whole tree (about 40 files) is read in well under a second.

A module is a directory under ``modules/`` or ``envs/`` that holds ``*.tf`` files, except
``examples/`` and ``tests/`` below a module (those are roots that use a module, not modules).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clickstream import REPO_ROOT
from clickstream.tfvars import Expression, HclError, parse_file

BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
MODULE_PARENTS = ("modules", "envs")
NOT_MODULES = frozenset({"examples", "tests"})
#: A default longer than this (as one line of JSON) is shown indented in a <pre> block.
INLINE_DEFAULT_MAX = 60


class DocsError(ValueError):
    """A module cannot be documented (HCL that does not parse, a README without markers)."""


@dataclass(frozen=True)
class Variable:
    name: str
    description: str | None
    type: str | None
    has_default: bool
    default: Any
    where: str


@dataclass(frozen=True)
class Output:
    name: str
    description: str | None
    where: str


@dataclass(frozen=True)
class Module:
    path: Path
    variables: list[Variable]
    outputs: list[Output]


def module_dirs(root: Path = REPO_ROOT) -> list[Path]:
    """Every module directory below ``modules/`` and ``envs/`` (sorted, examples/tests left out)."""
    found: set[Path] = set()
    for parent in MODULE_PARENTS:
        for tf in (root / parent).rglob("*.tf"):
            rel = tf.parent.relative_to(root).parts
            if not NOT_MODULES.intersection(rel):
                found.add(tf.parent)
    return sorted(found)


def read_module(path: Path) -> Module:
    """Variables and outputs of one module, each in file order, files in name order."""
    variables: list[Variable] = []
    outputs: list[Output] = []
    for tf in sorted(path.glob("*.tf")):
        try:
            body = parse_file(tf)
        except HclError as exc:
            raise DocsError(str(exc)) from exc
        for block in body.blocks_of("variable"):
            attrs = block.body.attributes
            type_ = attrs.get("type")
            variables.append(Variable(
                name=block.labels[0],
                description=_text(attrs.get("description")),
                type=_source(type_) if type_ is not None else None,
                has_default="default" in attrs,
                default=attrs.get("default"),
                where=f"{tf}:{block.line}",
            ))
        for block in body.blocks_of("output"):
            outputs.append(Output(block.labels[0], _text(block.body.attributes.get("description")),
                                  f"{tf}:{block.line}"))
    return Module(path, variables, outputs)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.text if isinstance(value, Expression) else str(value)


def _source(value: Any) -> str:
    """An expression's source text without comment-only lines; a literal as JSON."""
    if not isinstance(value, Expression):
        return json.dumps(value)
    lines = [ln.rstrip() for ln in value.text.splitlines()]
    return "\n".join(ln for ln in lines if not ln.lstrip().startswith(("#", "//")))


def undocumented(module: Module) -> list[str]:
    """One line per variable or output whose description is missing or blank."""
    return [f"{item.where}: {kind} {item.name!r} has no description"
            for kind, items in (("variable", module.variables), ("output", module.outputs))
            for item in items if not (item.description or "").strip()]


def _cell(text: str) -> str:
    """Markdown table cell text: pipes escaped, line breaks as <br/> (as terraform-docs does),
    and ``<``/``>`` outside code spans as entities, so ``s3://<bucket>/`` is not read as a tag."""
    parts = text.strip().split("`")
    for i in range(0, len(parts), 2):  # even parts are outside backticks
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts).replace("|", "\\|").replace("\n", "<br/>")


def _code(text: str) -> str:
    """Inline code for one line, a <pre> block for several (tables cannot hold code fences)."""
    if "\n" in text:
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
        return "<pre>" + escaped.replace("\n", "<br/>") + "</pre>"
    return f"`{text}`"


def _default(var: Variable) -> str:
    if not var.has_default:
        return "n/a"
    if isinstance(var.default, Expression):
        return _code(_source(var.default))
    one_line = json.dumps(var.default)
    if len(one_line) <= INLINE_DEFAULT_MAX:
        return _code(one_line)
    return _code(json.dumps(var.default, indent=2))


def render(module: Module) -> str:
    """The tables between the markers (markers included), in terraform-docs' table layout."""
    out = [BEGIN, "## Inputs", ""]
    if module.variables:
        out += ["| Name | Description | Type | Default | Required |",
                "|------|-------------|------|---------|:--------:|"]
        out += [f"| <a name=\"input_{v.name}\"></a> [{v.name}](#input_{v.name}) | {_cell(v.description or '')} | "
                f"{_code(v.type or 'any')} | {_default(v)} | {'no' if v.has_default else 'yes'} |"
                for v in module.variables]
    else:
        out.append("No inputs.")
    out += ["", "## Outputs", ""]
    if module.outputs:
        out += ["| Name | Description |", "|------|-------------|"]
        out += [f"| <a name=\"output_{o.name}\"></a> [{o.name}](#output_{o.name}) | {_cell(o.description or '')} |"
                for o in module.outputs]
    else:
        out.append("No outputs.")
    out.append(END)
    return "\n".join(out)


def updated_readme(text: str, tables: str, readme: Path) -> str:
    """The README with its marked section replaced; :class:`DocsError` if markers are broken."""
    begin, end = text.count(BEGIN), text.count(END)
    if (begin, end) == (0, 0):
        raise DocsError(f"{readme}: no {BEGIN} / {END} markers (run `make docs` to append them)")
    if (begin, end) != (1, 1) or text.index(BEGIN) > text.index(END):
        raise DocsError(f"{readme}: needs exactly one {BEGIN} followed by one {END}")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return head + tables + tail


@dataclass(frozen=True)
class Result:
    """What one run found: problems (check fails), READMEs rewritten or stale."""

    problems: list[str]
    stale: list[Path]


def run(dirs: Iterable[Path], *, write: bool, root: Path = REPO_ROOT) -> Result:
    """Check (``write=False``) or regenerate the README of every module in ``dirs``."""
    problems: list[str] = []
    stale: list[Path] = []
    for path in dirs:
        readme = path / "README.md"
        try:
            module = read_module(path)
        except DocsError as exc:
            problems.append(str(exc))
            continue
        problems += [_relative(line, root) for line in undocumented(module)]
        if not readme.is_file() and not write:
            problems.append(f"{_rel(readme, root)}: missing (every module has a README; `make docs` starts one)")
            continue
        text = readme.read_text() if readme.is_file() else f"# {_rel(path, root)}\n"
        before = readme.read_text() if readme.is_file() else None
        if write and BEGIN not in text and END not in text:
            text = text.rstrip("\n") + "\n\n" + BEGIN + "\n" + END + "\n"
        try:
            new = updated_readme(text, render(module), _rel(readme, root))
        except DocsError as exc:
            problems.append(str(exc))
            continue
        if new != before:
            stale.append(readme)
            if write:
                readme.write_text(new)
    return Result(problems, stale)


def _rel(path: Path, root: Path) -> Path:
    try:
        return path.relative_to(root)
    except ValueError:
        return path


def _relative(line: str, root: Path) -> str:
    prefix = f"{root}/"
    return line[len(prefix):] if line.startswith(prefix) else line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clickstream.tfdocs", description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="exit 1 if a README is stale or a description missing")
    mode.add_argument("--write", action="store_true", help="rewrite the tables between the markers")
    parser.add_argument("dirs", nargs="*", type=Path, help="module directories (default: all)")
    args = parser.parse_args(argv)
    dirs = [d.resolve() for d in args.dirs] or module_dirs(REPO_ROOT)
    result = run(dirs, write=args.write, root=REPO_ROOT)
    for line in result.problems:
        print(line, file=sys.stderr)
    for readme in result.stale:
        rel = _rel(readme, REPO_ROOT)
        if args.write:
            print(f"{rel}: tables rewritten")
        else:
            print(f"{rel}: tables are stale (run `make docs`)", file=sys.stderr)
    if result.problems or (result.stale and not args.write):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
