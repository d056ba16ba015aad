"""Read an environment's settings the way Terraform would: variable defaults, then tfvars.

Why a reader of our own rather than ``python-hcl2`` or ``terraform console``: python-hcl2 is
not a dependency (and these machines install nothing new), and ``terraform console`` needs an
initialised root, which for dev/prod means the S3 backend and credentials before the checks
that should explain a missing backend or credentials, plus 10-20 s per env. The settings the
preflight needs are plain data: ``terraform.tfvars`` here holds only literals (strings
without interpolation, numbers, booleans, null, lists and objects, comments), and variable
defaults are literals too. So this module tokenises HCL properly (strings with ``${...}``,
heredocs, the three comment styles, brackets) and parses bodies of attributes and blocks; an
expression that is not a literal is kept as :class:`Expression` (its source text), which a
tfvars file may not contain (:class:`HclError` names the file and line: a future tfvars with
an expression fails loudly instead of being misread) and a ``variable`` default simply lacks.

The env compositions (``main.tf``) are parsed with the same reader by the preflight's drift
tests, which compare the expressions the envs pass to the modules with what the preflight
assumes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class HclError(ValueError):
    """The file is not HCL this reader understands; the message names file and line."""


@dataclass(frozen=True)
class Expression:
    """An expression that is not a literal value, kept as its source text."""

    text: str
    line: int


@dataclass
class Block:
    """``type "label" ... { body }``."""

    type: str
    labels: list[str]
    body: Body
    line: int


@dataclass
class Body:
    """Attributes (name -> value or :class:`Expression`) and nested blocks, in file order."""

    attributes: dict[str, Any] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)

    def blocks_of(self, type_: str, *labels: str) -> list[Block]:
        return [b for b in self.blocks if b.type == type_ and b.labels[: len(labels)] == list(labels)]


@dataclass(frozen=True)
class _Tok:
    kind: str  # ident, number, string, template, heredoc, punct, newline, eof
    value: Any
    line: int
    start: int
    end: int


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_NUMBER = re.compile(r"\d+(\.\d+)?([eE][+-]?\d+)?")
_HEREDOC = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_]*)[ \t]*\n")
_OPERATORS = ("==", "!=", ">=", "<=", "&&", "||", "=>", "...")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_OPEN, _CLOSE = "([{", ")]}"


class _Lexer:
    def __init__(self, text: str, source: str) -> None:
        self.text, self.source = text, source
        self.pos, self.line = 0, 1

    def error(self, message: str, line: int | None = None) -> HclError:
        return HclError(f"{self.source}:{line or self.line}: {message}")

    def tokens(self) -> list[_Tok]:
        out: list[_Tok] = []
        while True:
            tok = self._next()
            out.append(tok)
            if tok.kind == "eof":
                return out

    def _skip_blanks(self) -> None:
        """Move past spaces and comments (not newlines: they end attributes)."""
        text = self.text
        while self.pos < len(text):
            c = text[self.pos]
            if c in " \t\r":
                self.pos += 1
            elif c == "#" or text.startswith("//", self.pos):
                while self.pos < len(text) and text[self.pos] != "\n":
                    self.pos += 1
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.error("unterminated /* comment")
                self.line += text.count("\n", self.pos, end)
                self.pos = end + 2
            else:
                return

    def _next(self) -> _Tok:
        self._skip_blanks()
        text = self.text
        start, line = self.pos, self.line
        if self.pos >= len(text):
            return _Tok("eof", None, line, start, start)
        c = text[self.pos]
        if c == "\n":
            self.pos += 1
            self.line += 1
            return _Tok("newline", None, line, start, self.pos)
        if c == '"':
            value, literal = self._string()
            return _Tok("string" if literal else "template", value, line, start, self.pos)
        heredoc = _HEREDOC.match(text, self.pos)
        if heredoc:
            return self._heredoc(heredoc, line, start)
        return self._word_or_punct(line, start)

    def _word_or_punct(self, line: int, start: int) -> _Tok:
        """A number, an identifier, an operator, or else one punctuation character."""
        text = self.text
        for pattern, kind in ((_NUMBER, "number"), (_IDENT, "ident")):
            m = pattern.match(text, self.pos)
            if m:
                self.pos = m.end()
                value = m.group(0)
                if kind == "number":
                    value = float(value) if any(ch in value for ch in ".eE") else int(value)
                return _Tok(kind, value, line, start, self.pos)
        for op in _OPERATORS:
            if text.startswith(op, self.pos):
                self.pos += len(op)
                return _Tok("punct", op, line, start, self.pos)
        self.pos += 1
        return _Tok("punct", text[start], line, start, self.pos)

    def _string(self) -> tuple[str, bool]:
        """A quoted string: its decoded value, and whether it is a literal (no ``${``/``%{``)."""
        text, out, literal = self.text, [], True
        self.pos += 1
        while True:
            if self.pos >= len(text) or text[self.pos] == "\n":
                raise self.error("unterminated string")
            c = text[self.pos]
            if c == '"':
                self.pos += 1
                return "".join(out), literal
            if c == "\\":
                esc = text[self.pos + 1 : self.pos + 2]
                if esc == "u":
                    out.append(chr(int(text[self.pos + 2 : self.pos + 6], 16)))
                    self.pos += 6
                    continue
                if esc not in _ESCAPES:
                    raise self.error(f"unknown escape \\{esc}")
                out.append(_ESCAPES[esc])
                self.pos += 2
            elif text.startswith(("$${", "%%{"), self.pos):
                out.append(text[self.pos + 1 : self.pos + 3])
                self.pos += 3
            elif text.startswith(("${", "%{"), self.pos):
                literal = False
                out.append(self._interpolation())
            else:
                out.append(c)
                self.pos += 1

    def _interpolation(self) -> str:
        """Skip ``${ ... }`` (nested strings and braces included); return its source text."""
        start = self.pos
        self.pos += 2
        depth = 1
        while depth:
            tok = self._next()
            if tok.kind == "eof":
                raise self.error("unterminated ${ in a string")
            if tok.kind == "punct" and tok.value == "{":
                depth += 1
            elif tok.kind == "punct" and tok.value == "}":
                depth -= 1
        return self.text[start : self.pos]

    def _heredoc(self, m: re.Match[str], line: int, start: int) -> _Tok:
        indent, marker = m.group(1) == "-", m.group(2)
        self.pos = m.end()
        self.line += 1
        lines: list[str] = []
        while True:
            end = self.text.find("\n", self.pos)
            if end < 0:
                raise self.error(f"heredoc <<{marker} is not closed", line)
            raw = self.text[self.pos : end]
            self.pos, self.line = end + 1, self.line + 1
            if raw.strip() == marker:
                # The closing marker's newline ends the attribute: leave it to the parser.
                self.pos, self.line = end, self.line - 1
                break
            lines.append(raw)
        if indent:
            width = min((len(x) - len(x.lstrip()) for x in lines if x.strip()), default=0)
            lines = [x[width:] for x in lines]
        return _Tok("heredoc", "\n".join(lines) + "\n", line, start, self.pos)


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.lexer = _Lexer(text, source)
        self.text, self.source = text, source
        self.toks = self.lexer.tokens()
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def error(self, message: str, tok: _Tok | None = None) -> HclError:
        return HclError(f"{self.source}:{(tok or self.tok).line}: {message}")

    def skip_newlines(self) -> None:
        while self.tok.kind == "newline":
            self.i += 1

    def is_punct(self, value: str, offset: int = 0) -> bool:
        t = self.toks[self.i + offset]
        return t.kind == "punct" and t.value == value

    def body(self, closing: str | None = None) -> Body:
        body = Body()
        while True:
            self.skip_newlines()
            t = self.tok
            if t.kind == "eof" or (closing and self.is_punct(closing)):
                if closing and t.kind == "eof":
                    raise self.error(f"missing '{closing}'")
                return body
            if t.kind != "ident":
                raise self.error(f"expected an attribute or block name, found {t.value!r}")
            self.i += 1
            if self.is_punct("="):
                self.i += 1
                if t.value in body.attributes:
                    raise self.error(f"attribute {t.value!r} set twice", t)
                body.attributes[t.value] = self.expression(("newline", "eof"), closing)
                continue
            labels = []
            while self.tok.kind in ("string", "ident"):
                labels.append(self.tok.value)
                self.i += 1
            if not self.is_punct("{"):
                raise self.error(f"expected '=' or a block after {t.value!r}")
            self.i += 1
            inner = self.body("}")
            self.i += 1
            body.blocks.append(Block(t.value, labels, inner, t.line))

    def expression(self, ends: tuple[str, ...], closing: str | None) -> Any:
        """A literal value if the whole expression is one, else an :class:`Expression`."""
        start = self.i
        try:
            value = self.literal()
            if self.at_end(ends, closing):
                return value
        except _NotLiteral:
            pass
        self.i = start
        return self.opaque(ends, closing)

    def at_end(self, ends: tuple[str, ...], closing: str | None) -> bool:
        t = self.tok
        return t.kind in ends or (t.kind == "punct" and (t.value in ends or t.value == closing))

    def opaque(self, ends: tuple[str, ...], closing: str | None) -> Expression:
        first = self.tok
        depth = 0
        while True:
            t = self.tok
            if t.kind == "eof":
                if depth:
                    raise self.error("unbalanced brackets in an expression", first)
                break
            if t.kind == "punct" and t.value in _OPEN:
                depth += 1
            elif t.kind == "punct" and t.value in _CLOSE:
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and self.at_end(ends, closing):
                break
            self.i += 1
        last = self.toks[self.i - 1]
        if self.i == 0 or last.end <= first.start:
            raise self.error("expected an expression", first)
        return Expression(self.text[first.start : last.end].strip(), first.line)

    def literal(self) -> Any:
        t = self.tok
        if t.kind in ("string", "number", "heredoc") and not (t.kind == "heredoc" and "${" in t.value):
            self.i += 1
            return t.value
        if t.kind == "ident" and t.value in ("true", "false", "null"):
            self.i += 1
            return {"true": True, "false": False, "null": None}[t.value]
        if t.kind == "punct" and t.value == "-" and self.toks[self.i + 1].kind == "number":
            self.i += 2
            return -self.toks[self.i - 1].value
        if self.is_punct("["):
            return self.sequence()
        if self.is_punct("{"):
            return self.mapping()
        raise _NotLiteral

    def sequence(self) -> list[Any]:
        self.i += 1
        self.skip_newlines()
        if self.tok.kind == "ident" and self.tok.value == "for":
            raise _NotLiteral  # a for expression, not a tuple
        items: list[Any] = []
        while True:
            self.skip_newlines()
            if self.is_punct("]"):
                self.i += 1
                return items
            items.append(self.element("]"))

    def mapping(self) -> dict[str, Any]:
        self.i += 1
        items: dict[str, Any] = {}
        while True:
            self.skip_newlines()
            if self.is_punct("}"):
                self.i += 1
                return items
            key = self.tok
            if key.kind not in ("ident", "string") or not (self.is_punct("=", 1) or self.is_punct(":", 1)):
                raise _NotLiteral  # a for expression, or a computed key
            self.i += 2
            if key.value in items:
                raise self.error(f"key {key.value!r} set twice", key)
            items[key.value] = self.element("}")

    def element(self, closing: str) -> Any:
        """One tuple element or object value: a literal, else an :class:`Expression` of its
        own (so ``{ a = var.x, b = 1 }`` keeps ``b`` readable), then its separator."""
        value = self.expression(("newline", ","), closing)
        newline = self.tok.kind == "newline"
        self.skip_newlines()
        if self.is_punct(","):
            self.i += 1
        elif not (newline or self.is_punct(closing)):
            raise self.error(f"expected ',', a new line or '{closing}'")
        return value


class _NotLiteral(Exception):
    """Internal: the expression at hand is not a literal value."""


def has_expression(value: Any) -> bool:
    """True if ``value`` is, or holds anywhere, an :class:`Expression`."""
    if isinstance(value, Expression):
        return True
    if isinstance(value, dict):
        return any(has_expression(v) for v in value.values())
    if isinstance(value, list):
        return any(has_expression(v) for v in value)
    return False


def _first_expression(value: Any) -> Expression | None:
    if isinstance(value, Expression):
        return value
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for child in children:
        found = _first_expression(child)
        if found:
            return found
    return None


def parse(text: str, source: str = "<hcl>") -> Body:
    """Parse HCL native syntax into a :class:`Body`."""
    return _Parser(text, source).body()


def parse_file(path: Path) -> Body:
    return parse(Path(path).read_text(), str(path))


def read_tfvars(path: Path) -> dict[str, Any]:
    """Values of a ``.tfvars`` file; anything but a literal value is refused (file and line)."""
    body = parse_file(path)
    if body.blocks:
        raise HclError(f"{path}:{body.blocks[0].line}: a tfvars file holds no blocks")
    for name, whole in body.attributes.items():
        value = _first_expression(whole)
        if value is not None:
            raise HclError(
                f"{path}:{value.line}: {name} = {value.text}: only literal values can be read here "
                "(strings without ${...}, numbers, booleans, null, lists and objects)"
            )
    return dict(body.attributes)


def variable_defaults(root: Path) -> dict[str, Any]:
    """Literal defaults of every ``variable`` block in the root's ``*.tf`` files (variables
    without a default, or with a computed one, are absent)."""
    defaults: dict[str, Any] = {}
    for tf in sorted(Path(root).glob("*.tf")):
        for block in parse_file(tf).blocks_of("variable"):
            value = block.body.attributes.get("default", Expression("", block.line))
            if not has_expression(value):
                defaults[block.labels[0]] = value
    return defaults


def variable_names(root: Path) -> set[str]:
    """Every variable the root declares."""
    return {b.labels[0] for tf in Path(root).glob("*.tf") for b in parse_file(tf).blocks_of("variable")}


def root_settings(root: Path, var_files: Iterable[Path] | None = None) -> dict[str, Any]:
    """What Terraform would see as ``var.*`` for a plan of ``root`` with its tfvars: literal
    defaults, overlaid by each of ``var_files`` in order (an account env's
    ``envs/<env>/terraform.tfvars``, see :mod:`clickstream.envs`), or when none are given by
    the root's own ``terraform.tfvars`` and then its other ``*.tfvars`` in name order (what
    ``make plan`` passes; a later file wins, as with repeated ``-var-file``). Object values
    replace defaults whole, as Terraform does."""
    settings = variable_defaults(root)
    if var_files is None:
        var_files = sorted(Path(root).glob("*.tfvars"), key=lambda p: (p.name != "terraform.tfvars", p.name))
    for path in var_files:
        settings.update(read_tfvars(path))
    return settings
