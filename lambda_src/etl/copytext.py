"""PostgreSQL COPY text format: one row per line, fields separated by tabs, None as ``\\N``.

Backslash, tab, newline and carriage return must be escaped. A JSON string can only hold
them through a backslash escape in its line, so a row from a line without a backslash skips
escaping altogether (the ``escape`` flag the parser passes).
"""

from __future__ import annotations

import re

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_UNESCAPES = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}
_UNESCAPE = re.compile(r"\\[\\tnr]")


def copy_line(fields: tuple, escape: bool) -> str:
    """One COPY text row (without its newline) from str/None fields."""
    if escape:
        return "\t".join(["\\N" if v is None else v.translate(_COPY_ESCAPES) for v in fields])
    return "\t".join(["\\N" if v is None else v for v in fields])


def decode_copy_line(line: str) -> list[str | None]:
    """Inverse of :func:`copy_line` (for inspection and tests)."""
    return [None if f == "\\N" else _UNESCAPE.sub(lambda m: _UNESCAPES[m.group()], f)
            for f in line.split("\t")]
