"""The Terraform source as the gate needs it: where each block is, and its inline skips.

checkov's own skip handling for plans keys resources by ``type.name`` only (see the package
docstring), so the gate indexes each module directory itself: every ``resource``, ``data`` and
``module`` block with its line range and the ``checkov:skip=`` comments inside it. A regex
index, not a full HCL parser: it only has to find block boundaries (strings, comments and
heredocs are skipped so a brace inside them does not count).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from clickstream.security.model import SkipComment, rel

#: checkov's own pattern for inline suppressions (checkov/common/comment/enum.py).
SKIP_COMMENT = re.compile(
    r"(checkov:skip=|bridgecrew:skip=|cortex:skip=) *([A-Za-z_\d-]+(?:,[A-Za-z_\d-]+)*)?(:[^\n]*)?"
)
_BLOCK_START = re.compile(r'^[ \t]*(resource|data)[ \t]+"([^"]+)"[ \t]+"([^"]+)"[ \t]*\{', re.MULTILINE)
_MODULE_START = re.compile(r'^[ \t]*module[ \t]+"([^"]+)"[ \t]*\{', re.MULTILINE)
_HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_]*)[ \t]*\n")
_COMMENT_MARK = re.compile(r"(#|//|/\*|<!--|--)\s*$")
_SKIPPED_DIRS = {".terraform", "__pycache__", "node_modules"}


def _skip_literal(text: str, i: int) -> int:
    """If a string, comment or heredoc starts at ``i``, the index of its last character; else ``i``."""
    n = len(text)
    if text[i] == '"':
        i += 1
        while i < n and text[i] != '"':
            i += 2 if text[i] == "\\" else 1
        return i
    if text[i] == "#" or text.startswith("//", i):
        end = text.find("\n", i)
        return n if end < 0 else end
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        return n if end < 0 else end + 1
    if text.startswith("<<", i):
        m = _HEREDOC.match(text, i)
        if m:
            end = re.compile(rf"^[ \t]*{m.group(1)}[ \t]*$", re.MULTILINE).search(text, m.end())
            return end.end() if end else n
    return i


def _block_end(text: str, open_brace: int) -> int:
    """Index of the brace closing the block opened at ``open_brace`` (strings, comments, heredocs skipped)."""
    depth, i, n = 0, open_brace, len(text)
    while i < n:
        i = _skip_literal(text, i)
        if i < n and text[i] == "{":
            depth += 1
        elif i < n and text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return n - 1


def _skip_comments(text: str, rel_path: str, first_line: int = 1) -> list[SkipComment]:
    """Skip comments with at least one check id, in a comment (not a string that mentions one)."""
    out = []
    for lineno, line in enumerate(text.splitlines(), first_line):
        for m in SKIP_COMMENT.finditer(line):
            ids = tuple(filter(None, (m.group(2) or "").split(",")))
            if ids and _COMMENT_MARK.search(line[: m.start()]):
                out.append(SkipComment(rel_path, lineno, ids, (m.group(3) or "").lstrip(":").strip()))
    return out


@dataclass
class TfBlock:
    file: str
    lines: tuple[int, int]
    skips: dict[str, SkipComment]


def index_tf_dir(directory: Path) -> dict[str, TfBlock]:
    """Block location and its skip comments, for the ``*.tf`` files of one module.

    Keys: ``type.name`` (resources), ``data.type.name`` and ``module.name`` (module calls).
    """
    blocks: dict[str, TfBlock] = {}

    def add(key: str, text: str, rel_path: str, m: re.Match) -> None:
        end = _block_end(text, m.end() - 1)
        start_line = text.count("\n", 0, m.start()) + 1
        end_line = text.count("\n", 0, end) + 1
        body = text[m.start() : end + 1]
        skips = {cid: s for s in _skip_comments(body, rel_path, start_line) for cid in s.check_ids}
        blocks[key] = TfBlock(rel_path, (start_line, end_line), skips)

    for path in sorted(directory.glob("*.tf")):
        text = path.read_text(errors="replace")
        rel_path = rel(path)
        for m in _BLOCK_START.finditer(text):
            add(("data." if m.group(1) == "data" else "") + f"{m.group(2)}.{m.group(3)}", text, rel_path, m)
        for m in _MODULE_START.finditer(text):
            add(f"module.{m.group(1)}", text, rel_path, m)
    return blocks


def module_call_skip(
    prefix: str, check_id: str, dirs: Mapping[str, str], index: Callable[[str], dict[str, TfBlock]]
) -> SkipComment | None:
    """A skip of ``check_id`` on a ``module`` call on the way to the module instance ``prefix``.

    Why: a finding that holds only for one instance (an env that sets a module input the way
    only the emulator needs, a value unknown until apply in one root) is accepted where that
    instance is made, not in the module, where a skip would silence every env and the
    source scan of the module too. The innermost call wins.
    """
    parts = prefix.split(".") if prefix else []
    calls = [parts[i : i + 2] for i in range(0, len(parts), 2)]
    for depth in range(len(calls), 0, -1):
        parent = ".".join(".".join(c) for c in calls[: depth - 1])
        parent_dir = dirs.get(parent)
        if parent_dir is None:
            continue
        block = index(parent_dir).get(".".join(calls[depth - 1]))
        if block is not None and check_id in block.skips:
            return block.skips[check_id]
    return None


def inline_skips(trees: Iterable[Path]) -> list[SkipComment]:
    """Every ``checkov:skip=`` comment in the scanned trees (Terraform and code alike)."""
    found: list[SkipComment] = []
    for tree in trees:
        if not tree.exists():
            continue
        files = [tree] if tree.is_file() else sorted(p for p in tree.rglob("*") if p.is_file())
        for path in files:
            if _SKIPPED_DIRS & set(path.parts) or path.suffix in {".pyc", ".zip"}:
                continue
            try:
                text = path.read_text()
            except (UnicodeDecodeError, OSError):
                continue
            if "skip=" in text:
                found += _skip_comments(text, rel(path))
    return found
