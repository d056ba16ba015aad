"""Server-side enrichment: received_at, request id, anonymised IP and user agent.

IP anonymisation is **truncation**: IPv4 keeps its /24 (``203.0.113.57`` ->
``203.0.113.0``), IPv6 its /48 (``2001:db8:85a3:8d3:...`` -> ``2001:db8:85a3::``), and an
IPv4-mapped IPv6 address is treated as the IPv4 it carries. Why truncation and not a salted
hash: it is irreversible without a secret to manage or rotate, it still allows coarse
geolocation and bot filtering by network, and the same rule is what GA4 and Matomo ship.
A salted hash would keep per-device linkability, which is the thing to avoid. The address
comes from the API Gateway ``requestContext.http.sourceIp`` (the TCP peer as API Gateway saw
it), never from a client-supplied ``X-Forwarded-For``.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from typing import Any

from common.lake import ENRICHMENT_MAX_CHARS
from common.text import clean_text

MAX_USER_AGENT_CHARS = ENRICHMENT_MAX_CHARS["user_agent"]
MAX_REQUEST_ID_CHARS = ENRICHMENT_MAX_CHARS["request_id"]
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#: Dotted-quad IPv4 exactly as :mod:`ipaddress` accepts it (no leading zeros, ASCII digits).
_IPV4 = re.compile(rf"({_OCTET}\.{_OCTET}\.{_OCTET}\.){_OCTET}")


def anonymise_ip(raw: object) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) network address of ``raw``, or None if it is not an IP.

    IPv4, nearly every request, takes a regex fast path (about 1 us instead of 15 us through
    :mod:`ipaddress`); a unit test checks both paths agree.
    """
    if not isinstance(raw, str) or not raw or len(raw) > ENRICHMENT_MAX_CHARS["ip_anon"]:
        return None
    raw = raw.strip()
    m = _IPV4.fullmatch(raw)
    if m is not None:
        return m.group(1) + "0"
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def clean_user_agent(raw: object) -> str | None:
    """The user agent, bounded in length and cleaned by the text rule; None when absent.

    A header is input like the body, but it is metadata about the request, not an event: a
    NUL or an unpaired surrogate in it is replaced (U+FFFD) rather than refused, so a broken
    client string never costs the valid events it came with, and the stored record always
    follows the text rule the events follow (PostgreSQL text cannot hold either).
    """
    if not isinstance(raw, str) or not raw:
        return None
    return clean_text(raw[:MAX_USER_AGENT_CHARS])


def request_id(ctx_request_id: Any, context: Any) -> str:
    """The request id stored with every event: API Gateway's, else the Lambda invocation's.

    Bounded and cleaned like the user agent: whatever sits in the event's requestContext is
    input to this function, and the ETL stores it as text.
    """
    for raw in (ctx_request_id, getattr(context, "aws_request_id", None)):
        if isinstance(raw, str) and raw:
            return clean_text(raw[:MAX_REQUEST_ID_CHARS])
    return "unknown"


def rfc3339_ms(ts: datetime) -> str:
    """``2026-11-22T04:31:00.123Z``: UTC, millisecond precision, ``Z`` suffix."""
    ts = ts.astimezone(UTC)
    return (f"{ts.year:04d}-{ts.month:02d}-{ts.day:02d}T{ts.hour:02d}:{ts.minute:02d}:"
            f"{ts.second:02d}.{ts.microsecond // 1000:03d}Z")


def enrichment(
    *, app_id: str, sent_at: str, received_at: str, request_id: str, ip_anon: str | None,
    user_agent: str | None,
) -> dict[str, object]:
    """The keys added at the top level of every accepted event (the lake contract)."""
    return {
        "app_id": app_id,
        "sent_at": sent_at,
        "received_at": received_at,
        "request_id": request_id,
        "ip_anon": ip_anon,
        "user_agent": user_agent,
    }
