"""Device category from a user agent string, each distinct agent classified once.

A full UA parser (ua-parser, user-agents) would add wheels and ~10 µs per call for a field
the dashboards only cut four ways. These patterns follow the usual conventions (MDN: "Mobi"
for phones, iPad/Android-without-Mobile for tablets) and bots are caught by their self-
declared tokens. Traffic repeats a few thousand agents, so an LRU cache in front of the
patterns makes all but the first sighting of each a dict lookup; it is bounded, and keeps
the agents still in use when it is full. It lives as long as the parse worker, which is one
ETL run.
"""

from __future__ import annotations

import re
from functools import lru_cache

BOT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|headless|lighthouse|facebookexternalhit|curl/|wget/"
    r"|python-requests|python-urllib|go-http-client|java/|okhttp|scrapy|httpclient",
    re.IGNORECASE,
)
TABLET = re.compile(r"ipad|tablet|kindle|silk/|playbook|(android(?!.*mobi))", re.IGNORECASE)
MOBILE = re.compile(r"mobi|iphone|ipod|windows phone|opera mini|blackberry", re.IGNORECASE)

DEVICE_CATEGORIES = ("desktop", "mobile", "tablet", "bot", "unknown")
#: Distinct agents remembered (a user agent is at most 512 characters: ~30 MB at the bound).
CACHE_SIZE = 50_000


@lru_cache(maxsize=CACHE_SIZE)
def device_category(user_agent: str | None) -> str:
    """One of :data:`DEVICE_CATEGORIES`."""
    if not user_agent or not isinstance(user_agent, str):
        return "unknown"
    if BOT.search(user_agent):
        return "bot"
    if TABLET.search(user_agent):
        return "tablet"
    if MOBILE.search(user_agent):
        return "mobile"
    return "desktop"
