"""Helpers shared by the custom checks: one reading of a resource for HCL and plan scans.

Checkov hands a check the same resource in two shapes. From ``.tf`` source every attribute is
wrapped in a list (``{"from_port": [5432], "cidr_blocks": [["0.0.0.0/0"]]}``) and nested
blocks are lists of such dicts; from a plan (``terraform show -json``) top-level attributes are
wrapped but nested blocks arrive as raw values (``{"ingress": [[{"from_port": 5432, ...}]]}``).
Values Terraform cannot know in source (``var.x`` without a default) stay as strings such as
``"var.x"`` or ``"${...}"``. These helpers flatten both shapes so a check states its rule once
and treats what it cannot read as unknown instead of guessing.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from typing import Any

#: IAM actions that grant a whole service ("s3:*") or everything ("*").
SERVICE_WILDCARD = re.compile(r"^[A-Za-z0-9-]+:\*$")


def scalar(value: Any) -> Any:
    """Peel single-element lists until a non-list (or a longer list) remains."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def strings(value: Any) -> list[str]:
    """Every string inside arbitrarily nested lists (CIDR lists, action lists)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple | set):
        out: list[str] = []
        for item in value:
            out.extend(strings(item))
        return out
    return []


def blocks(value: Any) -> Iterator[dict[str, Any]]:
    """Every dict inside arbitrarily nested lists (nested blocks such as ``ingress``)."""
    if isinstance(value, dict):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from blocks(item)


def as_int(value: Any) -> int | None:
    """An integer, or None for unset/unknown values (``"var.port"``, null)."""
    value = scalar(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def is_open_cidr(cidr: str) -> bool:
    """True for any network with a /0 prefix: 0.0.0.0/0, ::/0 and their spellings."""
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


def policy_document(value: Any) -> dict[str, Any] | None:
    """A policy as a dict: already a dict (HCL ``jsonencode``) or a JSON string (plan)."""
    value = scalar(value)
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            doc = json.loads(value)
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None
    return None


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements of a policy document (a single statement may be a bare object)."""
    return list(blocks(doc.get("Statement", [])))


def broad_actions(actions: list[str]) -> list[str]:
    """Actions that grant everything (``*``) or a whole service (``s3:*``)."""
    return [a for a in actions if a.strip() == "*" or SERVICE_WILDCARD.match(a.strip())]
