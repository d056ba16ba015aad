"""The synthetic shop the traffic generator simulates: catalogue, channels, devices, faults.

Data only, apart from :mod:`clickstream.traffic` so that the generator reads as behaviour; the
names are re-exported there (tests read ``traffic.CATEGORIES`` and ``traffic.USER_AGENTS``).
"""

from __future__ import annotations

SHOP = "https://shop.example.com"

CATEGORIES = {
    # category: (brands, (min price, max price), names)
    "Laptops": (("Lenovo", "Dell", "HP", "Apple", "Asus", "Acer"), (499, 3299),
                ("ThinkPad X1", "XPS 13", "EliteBook 840", "MacBook Air", "ZenBook 14", "Swift 5")),
    "Monitors": (("Dell", "LG", "Samsung", "BenQ", "Asus"), (129, 1499),
                 ("UltraSharp 27", "UltraGear 32", "Odyssey G7", "PD2705U", "ProArt 24")),
    "Keyboards": (("Logitech", "Keychron", "Corsair", "Razer"), (29, 229),
                  ("MX Keys", "K2 Pro", "K70", "BlackWidow")),
    "Mice": (("Logitech", "Razer", "Microsoft", "Corsair"), (19, 159),
             ("MX Master 3S", "DeathAdder", "Arc Mouse", "M65")),
    "Headsets": (("Sony", "Jabra", "Logitech", "SteelSeries"), (39, 399),
                 ("WH-1000XM5", "Evolve2 65", "Zone Vibe", "Arctis 7")),
    "Docking Stations": (("Dell", "Lenovo", "CalDigit", "Anker"), (89, 399),
                         ("WD22TB4", "ThinkPad Dock", "TS4", "PowerExpand")),
    "Storage": (("Samsung", "WD", "Crucial", "Seagate"), (49, 599),
                ("990 Pro 2TB", "Black SN850X", "MX500 1TB", "Expansion 8TB")),
    "Networking": (("TP-Link", "Netgear", "Ubiquiti"), (29, 499),
                   ("Archer AX55", "Nighthawk", "UniFi U6")),
}

USER_AGENTS = {
    "desktop": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"
        " AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5)"
        " AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"
        " AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0",
    ),
    "mobile": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)"
        " AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/126.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 13; SM-S911B)"
        " AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0 Mobile Safari/537.36",
    ),
    "tablet": (
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X)"
        " AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/126.0 Safari/537.36",
    ),
    "bot": (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "python-requests/2.32.3",
    ),
}
DEVICE_WEIGHTS = (("desktop", 0.52), ("mobile", 0.40), ("tablet", 0.08))

# (referrer URL or None, utm dict or None, weight)
CHANNELS = (
    (None, None, 0.30),
    ("https://www.google.com/", None, 0.28),
    ("https://www.bing.com/", None, 0.05),
    ("https://www.google.com/", {"utm_source": "google", "utm_medium": "cpc",
                                 "utm_campaign": "laptops_q3", "utm_term": "business laptop"}, 0.10),
    ("https://www.facebook.com/", {"utm_source": "facebook", "utm_medium": "social",
                                   "utm_campaign": "back_to_school"}, 0.07),
    ("https://www.reddit.com/r/buildapc/", None, 0.05),
    (None, {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "weekly_deals",
            "utm_content": "hero_banner"}, 0.10),
    ("https://www.techradar.com/best/laptops", None, 0.05),
)
# Relative traffic by UTC hour of day (a shop in Europe/US: quiet nights, evening peak).
HOUR_WEIGHTS = (2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 10, 10, 9, 9, 10, 11, 13, 14, 13, 10, 7, 4)
SEARCH_TERMS = ("laptop", "usb-c dock", "4k monitor", "mechanical keyboard", "ssd 2tb",
                "wireless mouse", "noise cancelling", "wifi 6 router", "macbook", "gaming monitor")
INGEST_REJECT_REASONS = (
    ("event_name: must be one of the GA4 names", lambda e: {**e, "event_name": "clickk"}),
    ("session_id: required", lambda e: {k: v for k, v in e.items() if k != "session_id"}),
    ("event_ts: not an RFC 3339 date-time", lambda e: {**e, "event_ts": "yesterday"}),
)
MALFORMED_LINES = (
    b'{"event_id": "truncated',                              # bad JSON
    b"[1, 2, 3]",                                              # not an object
    b'{"event_name": "page_view", "event_ts": "2024-01-01T00:00:00Z"}',  # no event_id
    b"\xff\xfe not utf-8 at all \xc3\x28",                    # non-UTF-8
    b'"just a string"',                                        # JSON, not an object
)
