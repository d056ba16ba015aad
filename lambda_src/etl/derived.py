"""Columns the warehouse derives from an event instead of copying: referrer domain and device.

Shared by the row builders (:mod:`etl.strict_row`, :mod:`etl.fast_row`, :mod:`etl.typed_row`);
the device category lives in :mod:`etl.useragent`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from etl.useragent import device_category

__all__ = ["device_category", "referrer_domain"]

_DOMAINS: dict[str, str | None] = {}


def referrer_domain(referrer: str | None) -> str | None:
    """Host of a referrer URL, lower-case, without ``www.`` (cached: referrers repeat)."""
    if not referrer:
        return None
    cached = _DOMAINS.get(referrer, "")
    if cached != "":
        return cached
    try:
        host = urlsplit(referrer).hostname
    except ValueError:
        host = None
    if host and host.startswith("www."):
        host = host[4:]
    host = host or None
    if len(_DOMAINS) > 50_000:
        _DOMAINS.clear()
    _DOMAINS[referrer] = host
    return host
