"""Device category from a user agent string, cached.

A full UA parser (ua-parser, user-agents) would add wheels and ~10 µs per call for a field
the dashboards only cut four ways. These patterns follow the usual conventions (MDN: "Mobi"
for phones, iPad/Android-without-Mobile for tablets) and bots are caught by their self-
declared tokens; a bounded cache makes repeated agents (most of them) a dict lookup.
"""

from __future__ import annotations

import re

BOT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|headless|lighthouse|facebookexternalhit|curl/|wget/"
    r"|python-requests|python-urllib|go-http-client|java/|okhttp|scrapy|httpclient",
    re.IGNORECASE,
)
TABLET = re.compile(r"ipad|tablet|kindle|silk/|playbook|(android(?!.*mobi))", re.IGNORECASE)
MOBILE = re.compile(r"mobi|iphone|ipod|windows phone|opera mini|blackberry", re.IGNORECASE)

DEVICE_CATEGORIES = ("desktop", "mobile", "tablet", "bot", "unknown")
_CACHE: dict[str | None, str] = {}
_CACHE_MAX = 50_000


def device_category(user_agent: str | None) -> str:
    """One of :data:`DEVICE_CATEGORIES`."""
    cached = _CACHE.get(user_agent)
    if cached is not None:
        return cached
    if not user_agent or not isinstance(user_agent, str):
        result = "unknown"
    elif BOT.search(user_agent):
        result = "bot"
    elif TABLET.search(user_agent):
        result = "tablet"
    elif MOBILE.search(user_agent):
        result = "mobile"
    else:
        result = "desktop"
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[user_agent] = result
    return result
