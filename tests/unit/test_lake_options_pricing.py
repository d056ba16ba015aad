"""The lake options' price model (clickstream/bench/lake.py) against figures worked out by hand.

The billing rules are what the bench reports; a slip in one (a 64 KiB chunk, Firehose's
5 KB rounding, a per-thousand price) would move every figure, so each rule is pinned here
with sizes chosen to make the hand arithmetic plain.
"""

from __future__ import annotations

import pytest

from clickstream.bench.lake import price_options

pytestmark = pytest.mark.unit

#: Measured inputs made round: 10 ms per request either way, 1 kB messages, 800 B lines.
M = {"direct_s_per_request": 0.01, "queue_s_per_request": {1: 0.01, 5: 0.01, 25: 0.01},
     "message_bytes_per_request": {1: 1_000, 5: 1_000, 25: 70_000}, "json_line_bytes_per_event": 800.0,
     "batcher_wall_s_per_event": 10e-6}


def test_one_object_per_request_pays_a_put_per_request():
    o = price_options(25, M)["object_per_request"]
    assert o["parts_usd"]["s3_put"] == pytest.approx(0.20)  # 40,000 PUTs at $0.005 per 1,000
    assert o["parts_usd"]["http_api"] == pytest.approx(0.04)
    assert o["events_per_object"] == 25
    assert o["kms_usd_if_bucket_key_off"] == pytest.approx(0.12)  # 40,000 x $0.03 per 10,000


def test_the_sqs_buffer_bills_send_receive_and_delete_per_64k_chunk():
    one = price_options(1, M)["sqs_buffer_batcher"]
    # 1M messages of 1 kB: 1 send + 1/10 receive + 1/10 delete request each, $0.40 per million.
    assert one["parts_usd"]["sqs"] == pytest.approx(1.2 * 0.40)
    big = price_options(25, M)["sqs_buffer_batcher"]
    # 40,000 messages of 70 kB: 2 chunks to send, 10 x 70 kB = 11 chunks per receive of ten.
    assert big["parts_usd"]["sqs"] == pytest.approx(40_000 * (2 + 1.1 + 0.1) * 0.40 / 1e6)
    # 1M events a day for a 300 s window would be 3,472 events per batch, but at 1 event per
    # message the 6 MiB invocation payload (1 kB body + ~1.1 kB of record JSON each) comes first.
    assert one["events_per_object"] == pytest.approx(6 * 2**20 / 2_100, rel=1e-3)
    assert big["events_per_object"] == pytest.approx(6 * 2**20 / 71_100 * 25, rel=1e-3)  # < 3,472 too
    small = price_options(5, M)["sqs_buffer_batcher"]  # 5 events per 1 kB message: the window binds
    assert small["events_per_object"] == pytest.approx(1e6 / 86_400 * 300, rel=1e-3)


def test_firehose_rounds_each_record_up_to_5_kb():
    fh = price_options(1, M)["firehose_dynamic_partitioning"]
    gb = 1e6 * 5 * 1024 / 2**30  # an 800 B record is billed as 5 KB
    assert fh["parts_usd"]["firehose_ingest"] == pytest.approx(gb * 0.029, rel=1e-3)
    assert fh["parts_usd"]["firehose_dp_gb"] == pytest.approx(1e6 * 800 / 2**30 * 0.020, rel=1e-3)


def test_compaction_keeps_every_put_of_today_and_adds_gets():
    c = price_options(5, M)["compaction_of_closed_hours"]
    today = price_options(5, M)["object_per_request"]
    assert c["parts_usd"]["s3_put"] > today["parts_usd"]["s3_put"]
    assert c["parts_usd"]["s3_get_small_objects"] == pytest.approx(200_000 * 0.0004 / 1000)
    assert c["usd_per_million_events"] > today["usd_per_million_events"]
