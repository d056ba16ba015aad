"""PostgreSQL COPY text format: one row per line, fields separated by tabs, None as ``\\N``.

Backslash, tab, newline and carriage return must be escaped. A JSON string can only hold
them through a backslash escape in its line, so a row from a line without a backslash skips
escaping altogether (the ``escape`` flag the parser passes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_UNESCAPES = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}
_UNESCAPE = re.compile(r"\\[\\tnr]")


def copy_line(fields: tuple, escape: bool) -> str:
    """One COPY text row (without its newline) from str/None fields."""
    if escape:
        return "\t".join(["\\N" if v is None else v.translate(_COPY_ESCAPES) for v in fields])
    return "\t".join(["\\N" if v is None else v for v in fields])


_SPECIAL = re.compile(r"[\\\t\n\r]")


def _field(v: object) -> str:
    if v.__class__ is str:
        return v.translate(_COPY_ESCAPES) if _SPECIAL.search(v) else v  # type: ignore[arg-type, attr-defined]
    return _other(v)


def _other(v: object) -> str:
    """The COPY text of a field that is not a string (none of it needs escaping)."""
    if v is None:
        return "\\N"
    if v is True or v is False:
        return "t" if v else "f"
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, int | float):
        return repr(v)
    raise TypeError(f"no COPY text for {type(v).__name__}")


def copy_rows(rows: Iterable[tuple]) -> bytes:
    """COPY text of small-table rows (str, None, bool, int, float, aware datetime), each ending in a newline.

    What the parse worker ships instead of the row tuples (sessions, purchases, rejects):
    bytes cost nothing to pickle, and the loader writes them to COPY as they are.
    """
    lines = []
    for row in rows:
        # Strings as they are, then one look at the line: it is the escaped one unless a string
        # held a tab (more tabs than separators), a backslash (more than the \N of the Nones),
        # a newline or a carriage return. Rows almost never do, and this skips a call per field.
        line = "\t".join([v if v.__class__ is str else "\\N" if v is None else _other(v) for v in row])
        if (line.count("\t") != len(row) - 1 or line.count("\\") != row.count(None)
                or "\n" in line or "\r" in line):
            line = "\t".join([_field(v) for v in row])
        lines.append(line)
    return ("\n".join(lines) + "\n").encode() if lines else b""


def decode_copy_line(line: str) -> list[str | None]:
    """Inverse of :func:`copy_line` (for inspection and tests)."""
    return [None if f == "\\N" else _UNESCAPE.sub(lambda m: _UNESCAPES[m.group()], f)
            for f in line.split("\t")]
