"""Unit tests of the ETL's object reading and per-line validation (no AWS, no database)."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import orjson
import pytest
from etl import useragent
from etl.config import ConfigError, Settings
from etl.copytext import copy_rows, decode_copy_line
from etl.listing import days_to_list
from etl.parsing import ObjectError, gunzip_chunks, iter_lines, parse_object, referrer_domain
from etl.useragent import device_category
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest.app import IngestApp
from ingest.settings import Settings as IngestSettings

pytestmark = pytest.mark.unit

LIMITS = {"max_decompressed": 1_000_000, "max_line": 2048,
          "max_late": timedelta(days=30), "max_future": timedelta(days=1)}


def ev(**over) -> dict:
    e = {"event_id": str(uuid.uuid4()), "event_name": "view_item", "event_ts": "2024-05-01T10:00:00.123Z",
         "received_at": "2024-05-01T10:00:01.000Z", "anonymous_id": "a", "session_id": "s",
         "items": [{"item_id": "SKU-1", "price": 10.5, "quantity": 2}]}
    e.update(over)
    return e


def parse(lines: list[bytes]):
    body = gzip.compress(b"\n".join(lines))
    return parse_object("k", "events", date(2024, 5, 1), None, len(body), [body], **LIMITS)


def test_valid_event_row_is_canonical():
    eid = str(uuid.uuid4()).upper()
    po = parse([orjson.dumps(ev(event_id=eid, event_ts="2024-05-01T12:00:00.123456789+02:00"))])
    row = po.rows[0]
    assert row["event_id"] == eid.lower()
    assert row["event_ts"] == "2024-05-01T12:00:00.123456+02:00"
    assert orjson.loads(row["items"]) == [{"item_id": "SKU-1", "item_name": None, "item_brand": None,
                                           "item_category": None, "price": 10.5, "quantity": 2}]
    assert po.days == {date(2024, 5, 1)} and po.rejects == []


def test_duplicate_within_object_counted_once():
    e = orjson.dumps(ev())
    po = parse([e, e, b""])
    assert len(po.rows) == 1 and po.duplicates_in_object == 1 and po.lines == 2


@pytest.mark.parametrize(("over", "reason"), [
    ({"event_id": "x"}, "invalid event_id"),
    ({"event_name": "clickk"}, "invalid event_name"),
    ({"event_ts": "2024-05-01 10:00:00Z"}, "invalid event_ts"),
    ({"event_ts": "2024-05-03T10:00:00Z"}, "event_ts in the future"),
    ({"value": True}, "invalid value"),
    ({"session_id": None}, "missing session_id"),
    ({"page": "home"}, "invalid page"),
    ({"items": [{"item_id": ""}]}, "invalid items"),
    ({"user_id": 5}, "invalid user_id"),
])
def test_invalid_fields_rejected_with_reason(over, reason):
    po = parse([orjson.dumps(ev(**over))])
    assert po.rows == [] and po.rejects[0][4].startswith(reason)


def test_gzip_limits_and_corruption():
    assert b"".join(gunzip_chunks([gzip.compress(b"a\n") + gzip.compress(b"b\n")], 100)) == b"a\nb\n"
    with pytest.raises(ObjectError, match="exceeds"):
        list(gunzip_chunks([gzip.compress(b"0" * 10_000)], 1000))
    with pytest.raises(ObjectError, match="truncated"):
        list(gunzip_chunks([gzip.compress(b"x" * 1000)[:-10]], 10_000))
    with pytest.raises(ObjectError, match="not a valid gzip"):
        list(gunzip_chunks([b"hello"], 10_000))
    assert list(gunzip_chunks([b""], 10)) == []


def test_iter_lines_skips_long_line_without_holding_it():
    chunks = [b"short\n" + b"x" * 50, b"y" * 50, b"z\nlast"]
    got = list(iter_lines(chunks, max_line=20))
    assert got == [(1, b"short", 5), (2, None, 101), (3, b"last", 4)]


def test_device_and_referrer():
    assert device_category("Mozilla/5.0 (compatible; Googlebot/2.1)") == "bot"
    assert device_category("Mozilla/5.0 (iPad; CPU OS 17_5)") == "tablet"
    assert device_category("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5) Mobile/15E148") == "mobile"
    assert device_category("Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari") == "mobile"
    assert device_category("Mozilla/5.0 (Linux; Android 13; SM-X710) Safari") == "tablet"
    assert device_category("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126") == "desktop"
    assert device_category(None) == "unknown"
    assert referrer_domain("https://www.Google.com/search?q=x") == "google.com"
    assert referrer_domain("not a url") is None and referrer_domain("http://[::1") is None


def test_each_distinct_user_agent_is_classified_once():
    agents = ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_5) Mobile/15E148", "curl/8.5.0",
              "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126"]
    device_category.cache_clear()
    with mock.patch("etl.useragent.BOT", wraps=useragent.BOT) as bot:
        po = parse([orjson.dumps(ev(user_agent=agents[i % 3])) for i in range(30)])
    assert len(po.event_ids) == 30 and bot.search.call_count == 3
    assert [r["device_category"] for r in po.rows[:3]] == ["mobile", "bot", "desktop"]


@settings(max_examples=200, deadline=None)
@given(row=st.lists(st.one_of(st.none(), st.sampled_from(["\\N", "a\\b", "\t", "\n\r", "\\", "t\\tab"]),
                              st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                                             blacklist_characters="\x00"))),
                    min_size=1, max_size=5))
def test_copy_rows_round_trips_any_text(row):
    """The COPY text a worker ships for sessions, purchases and rejects decodes to the same fields."""
    text = copy_rows([tuple(row), tuple(row)])
    lines = text.decode().split("\n")
    assert lines[-1] == "" and len(lines) == 3
    assert decode_copy_line(lines[0]) == decode_copy_line(lines[1]) == row


def test_copy_rows_writes_booleans_numbers_and_times_as_postgresql_reads_them():
    when = datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert copy_rows([(True, False, 3, 1.5, when, None)]) == b"t\tf\t3\t1.5\t2024-05-01T10:00:00.123000+00:00\t\\N\n"
    assert copy_rows([]) == b""


def test_days_to_list_and_settings():
    assert days_to_list(date(2024, 1, 10), None, 2, date(2024, 1, 10)) == [
        date(2024, 1, 8), date(2024, 1, 9), date(2024, 1, 10), date(2024, 1, 11)]
    assert days_to_list(None, None, 2, date(2024, 1, 10)) == []
    with pytest.raises(ConfigError, match="RAW_BUCKET"):
        Settings.from_env({})
    with pytest.raises(ConfigError, match="missing: DW_HOST"):
        Settings.from_env({"RAW_BUCKET": "b"})
    s = Settings.from_env({"RAW_BUCKET": "b", "DW_DSN": "postgresql://x/y", "RAW_PREFIX": "p/v1"})
    assert s.raw_prefix == "p/v1/"
    with pytest.raises(ConfigError, match="ETL_WORKERS must be an integer"):
        Settings.from_env({"RAW_BUCKET": "b", "DW_DSN": "d", "ETL_WORKERS": "many"})


def test_fast_and_slow_paths_stage_the_same_values():
    """A canonical event (fast path) and the same event in the slow path's forms agree."""
    eid = str(uuid.uuid4())
    items = [{"item_id": "SKU-1", "item_name": "Mouse", "item_brand": "Logi",
              "item_category": "Mice", "price": 19.99, "quantity": 1}]
    fast = parse([orjson.dumps(ev(event_id=eid, items=items, value=19.99))]).rows[0]
    # A lowercase 't', an extra unknown item key and no currency force the slow path.
    slow_items = [{**items[0], "colour": "black"}]
    slow = parse([orjson.dumps(ev(event_id=eid.upper(), items=slow_items, value=19.99,
                                  event_ts="2024-05-01t10:00:00.000Z"))]).rows[0]
    for col in ("event_id", "event_name", "session_id", "value", "device_category", "is_bot",
                "referrer_domain", "user_agent"):
        assert fast[col] == slow[col], col
    assert orjson.loads(fast["items"]) == orjson.loads(slow["items"]) == items
    assert fast["is_bot"] == "f" and fast["value"] == "19.99"


def test_escaped_characters_survive_copy_text():
    title = 'tab\there "quoted" back\\slash \\N newline\nand\rreturn'
    po = parse([orjson.dumps(ev(page={"url": "https://x/", "path": "/", "title": title}))])
    assert po.rows[0]["page_title"] == title
    assert po.copy_text.count(b"\n") == 1  # one row: the newline inside the title is escaped


def test_excluded_ids_are_left_out_and_counted():
    a, b = orjson.dumps(ev()), orjson.dumps(ev(session_id="s-2"))
    body = gzip.compress(a + b"\n" + b + b"\n")
    first = orjson.loads(a)["event_id"]
    po = parse_object("k", "events", date(2024, 5, 1), None, len(body), [body], **LIMITS,
                      exclude=frozenset({first}))
    assert po.excluded == 1 and po.event_ids == [orjson.loads(b)["event_id"]]
    assert [s[0] for s in po.sessions] == ["s-2"] and po.copy_text.count(b"\n") == 1


def test_session_partials_and_purchases():
    t0, t1 = "2024-05-01T09:00:00.000Z", "2024-05-01T09:05:00.000Z"
    lines = [orjson.dumps(ev(session_id="s", event_ts=t1, event_name="purchase",
                             transaction_id="T-1", value=5)),
             orjson.dumps(ev(session_id="s", event_ts=t0, event_name="page_view",
                             page={"url": "https://x/land", "path": "/land"}))]
    po = parse(lines)
    (part,) = po.sessions
    assert part[0] == "s" and part[2].isoformat() == "2024-05-01T09:00:00+00:00"
    assert part[5] == 2 and part[6] == 1 and part[7] == "https://x/land"  # first event's page
    assert [p[0] for p in po.purchases] == ["T-1"]


@pytest.mark.parametrize("name", [["page_view"], {"a": 1}, 5])
def test_non_string_event_name_is_a_reject_not_a_crash(name):
    po = parse([orjson.dumps(ev(event_name=name))])
    assert po.rows == [] and po.rejects[0][4] == "invalid event_name"


# -- the shared text rule (common.text): decided on decoded values, as ingest decides it -----
def test_escaped_backslash_before_u0000_is_ordinary_text_and_loads():
    """JSON ``"\\\\u0000"`` is the six characters backslash-u-0-0-0-0, which PostgreSQL stores."""
    title = "\\u0000"
    line = orjson.dumps(ev(page={"url": "https://x/", "path": "/", "title": title}))
    assert b"\\\\u0000" in line  # the raw bytes hold the pattern the fast pre-check looks for
    po = parse([line])
    assert po.rejects == [] and po.rows[0]["page_title"] == title and len(title) == 6


@pytest.mark.parametrize(("over", "field"), [
    ({"page": {"url": "https://x/", "path": "/", "title": "a\x00b"}}, "page/title"),
    ({"items": [{"item_id": "SKU-1", "item_name": "\x00", "quantity": 1}]}, "items/0/item_name"),
    ({"params": {"k\x00": 1}}, "params/k"),  # a key, in a field the ETL does not even load
    ({"user_agent": "\\u0000 and a real \x00"}, "user_agent"),
])
def test_a_real_nul_escape_is_rejected_with_a_reason_naming_the_field(over, field):
    po = parse([orjson.dumps(ev(**over)), orjson.dumps(ev())])
    assert len(po.rows) == 1 and len(po.rejects) == 1
    reason = po.rejects[0][4]
    assert reason.startswith(field) and "NUL" in reason, reason
    payload, raw = po.rejects[0][5], po.rejects[0][6]
    assert payload is None and "\x00" not in raw  # jsonb cannot hold it: kept as text


def test_a_reject_too_deep_for_orjson_to_write_is_kept_as_text_not_a_crash():
    deep = "[" * 600 + "]" * 600  # orjson reads 1024 levels, writes 254
    line = orjson.dumps(ev(event_id="not-a-uuid"))[:-1] + b',"params":{"x":' + deep.encode() + b"}}"
    po = parse([line, orjson.dumps(ev())])
    assert len(po.rows) == 1 and po.rejects[0][4].startswith("invalid event_id")
    assert po.rejects[0][5] is None and po.rejects[0][6].startswith('{"event_id":"not-a-uuid"')


def test_ingest_reject_records_keep_their_reason_when_the_payload_holds_nul():
    """Ingest stores the event it refused for NUL as it came; the ETL keeps its reason and index."""
    rec = {"index": 3, "reason": "page/title: contains the NUL character U+0000",
           "payload": ev(page={"title": "a\x00"}), "app_id": "shop-web", "request_id": "r\x00-1",
           "received_at": "2024-05-01T10:00:01.000Z"}
    body = gzip.compress(orjson.dumps(rec) + b"\n")
    po = parse_object("k", "rejected", date(2024, 5, 1), None, len(body), [body], **LIMITS)
    (row,) = po.rejects
    assert row[2:5] == (3, "ingest", rec["reason"])
    assert row[5] is None and "\x00" not in row[6]  # the payload as text, NUL escaped
    assert row[7:9] == ("shop-web", None)  # a request id PostgreSQL cannot hold is left out


# Ingest and the ETL must make the same decision: text that varies only in what the shared
# rule judges (NUL, the escaped-backslash text, surrogates lone and paired, controls, quotes)
# in fields where the schema and the ETL agree on everything else.
RECEIVED = datetime(2026, 11, 22, 4, 31, 0, 123000, tzinfo=UTC)
SENT_AT = "2026-11-22T04:31:00Z"
EXTRA = {"app_id": "shop-web", "sent_at": SENT_AT, "received_at": "2026-11-22T04:31:00.123Z",
         "request_id": "req-1", "ip_anon": "203.0.113.0", "user_agent": "Mozilla/5.0"}
#: Free-text fields without a pattern or a minimum length, and their schema maxLength.
TEXT_FIELDS = [(("page", "title"), 512), (("page", "referrer"), 2048), (("utm_source",), 256),
               (("utm_term",), 256), (("items", 0, "item_name"), 256), (("items", 0, "item_brand"), 128),
               (("coupon",), 128), (("params", "note"), 256)]
corpus = st.one_of(
    st.text(max_size=8),
    st.lists(st.sampled_from(["\x00", "\\u0000", "\\", "u0000", "\ud800", "\udfff", "\udbff\udc00",
                              "\U0001f600", "\u00e9", "a", "\t", "\n", '"', "\x7f"]), max_size=6).map("".join),
)


@st.composite
def corpus_events(draw) -> dict:
    e = {"event_id": str(draw(st.uuids())), "event_name": "view_item", "event_ts": "2026-11-22T04:30:59.500Z",
         "anonymous_id": "a-1", "session_id": "s-1", "page": {"url": "https://shop.example/", "path": "/"},
         "items": [{"item_id": "SKU-1", "price": 10.5, "quantity": 2}]}
    for path, limit in draw(st.lists(st.sampled_from(TEXT_FIELDS), min_size=1, max_size=3, unique=True)):
        node = e
        for part in path[:-1]:
            node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
        node[path[-1]] = draw(corpus)[:limit]
    return e


class _NoS3:
    def put_object(self, **_kwargs):
        return {}


INGEST = IngestApp(IngestSettings(raw_bucket="raw", allowed_app_ids=frozenset({"shop-web"})), _NoS3(),
                   clock=lambda: RECEIVED)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(corpus_events(), min_size=1, max_size=6, unique_by=lambda e: e["event_id"]))
def test_ingest_accepts_exactly_the_events_the_etl_loads(events):
    # The body as a browser's JSON.stringify could send it: lone surrogates as \ud800 escapes.
    body = json.dumps({"app_id": "shop-web", "sent_at": SENT_AT, "events": events})
    req = {"version": "2.0", "rawPath": "/v1/events", "headers": {"content-type": "application/json"},
           "body": body, "isBase64Encoded": False,
           "requestContext": {"requestId": "req-1", "http": {"method": "POST", "sourceIp": "203.0.113.57",
                                                             "userAgent": "Mozilla/5.0"}}}
    resp = INGEST.handle(req)
    assert resp["statusCode"] == 200, resp["body"]
    refused = {r["index"] for r in orjson.loads(resp["body"])["rejected"]}
    accepted = {e["event_id"] for i, e in enumerate(events) if i not in refused}
    # Each event as the lake line ingest writes for it (or would have), built without orjson.
    lines = [json.dumps({**e, **EXTRA}).encode() for e in events]
    po = parse_object("k", "events", RECEIVED.date(), None, None, [gzip.compress(b"\n".join(lines))], **LIMITS)
    assert set(po.event_ids) == accepted
    assert len(po.rejects) == len(refused)


def test_blank_and_whitespace_only_lines_are_not_events():
    po = parse([orjson.dumps(ev()), b"", b"  ", b"\t\r", b"\x0b\x0c", orjson.dumps(ev()), b" x "])
    assert len(po.event_ids) == 2 and po.lines == 3  # " x " is a line, and not JSON
    assert [r[1] for r in po.rejects] == [7]
