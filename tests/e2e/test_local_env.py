"""The whole platform on one machine: envs/local applied once, then the data path end to end.

One apply of envs/local to the emulator serves every test here (an apply is the slowest
step of the suite). Through the artifacts and configuration Terraform deployed:

* the composition itself: passwords only in SSM (never in state), private hardened hosts,
  tiers wired as designed, functions deployed;
* generated shoppers sent through the local HTTP API to the deployed ingest zip, loaded by
  the deployed ETL zip into a real PostgreSQL, equal to what the generator knows it sent;
* a real Chromium clicking through the demo shop: those exact events (by event_id) reach
  dw.events and the dashboard's purchase count goes up by one;
* destroy removes what was applied.

The emulator reaches ``local_platform`` through ``AWS_ENDPOINT_URL`` (the session fixture
sets it), i.e. the same path as an external LocalStack or moto endpoint:
``AWS_ENDPOINT_URL=http://localhost:4566 make test-e2e``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import psycopg
import pytest

from clickstream.demo import start_dashboards, start_shop, stop_process
from clickstream.local_platform import LocalPlatform, local_platform
from clickstream.net import free_port, wait_for_port
from clickstream.traffic import TrafficConfig
from clickstream.traffic_http import send_over_http

pytestmark = pytest.mark.e2e

SHOP_PORT = free_port()
SHOP_ORIGIN = f"http://127.0.0.1:{SHOP_PORT}"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
# A desktop browser's user agent: the warehouse classifies "HeadlessChrome" as a bot, and bot
# sessions are kept out of the dashboards' rollups on purpose.
DESKTOP_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0 Safari/537.36")


@pytest.fixture(scope="module")
def plat(emulator) -> Iterator[LocalPlatform]:
    emulator.reset()
    with local_platform(cors_origins=[SHOP_ORIGIN]) as p:
        yield p


def _run_etl_until_done(plat: LocalPlatform, limit: int = 10) -> list[dict]:
    runs = []
    for _ in range(limit):
        runs.append(plat.run_etl())
        if not runs[-1].get("remaining") and not runs[-1].get("stopped_early"):
            return runs
    pytest.fail(f"ETL still had work after {limit} runs: {runs[-1]}")


def _scalar(dsn: str, sql: str, params: tuple = ()):
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchone()[0]


# -- the composition ---------------------------------------------------------------------------

def test_generated_passwords_are_in_ssm_and_not_in_state(plat: LocalPlatform) -> None:
    outputs, state = plat.outputs, plat.terraform.state()
    assert state["resources"], "apply left no state"
    text = json.dumps(state)
    ssm = boto3.client("ssm")
    for name in (outputs["warehouse_password_parameter_name"], outputs["oltp_password_parameter_name"]):
        param = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
        assert param["Type"] == "SecureString"
        assert len(param["Value"]) == 32
        assert param["Value"] not in text, f"the password of {name} leaked into the state"
    # The password parameters are in state, but only with the write-only marker.
    params = [r for r in state["resources"] if r["type"] == "aws_ssm_parameter" and r["mode"] == "managed"]
    assert sorted(r["name"] for r in params) == ["ca", "ca", "password", "password", "status", "status"]
    for res in (r for r in params if r["name"] == "password"):
        attrs = res["instances"][0]["attributes"]
        assert attrs.get("value") in (None, "") and attrs.get("value_wo") in (None, "")
        assert attrs["has_value_wo"] is True


def test_hosts_are_private_and_hardened(plat: LocalPlatform) -> None:
    outputs = plat.outputs
    ec2 = boto3.client("ec2")
    ids = [outputs["warehouse_instance_id"], outputs["oltp_instance_id"]]
    for reservation in ec2.describe_instances(InstanceIds=ids)["Reservations"]:
        for inst in reservation["Instances"]:
            assert inst["MetadataOptions"]["HttpTokens"] == "required"
            assert not inst.get("PublicIpAddress")


def test_tiers_are_wired_as_designed(plat: LocalPlatform) -> None:
    state = plat.terraform.state()
    wanted = {f"module.platform.{m}" for m in ("module.warehouse.module.host", "module.oltp.module.host", "module.etl")}
    groups = {
        (r["module"].removeprefix("module.platform."), r["name"]): r["instances"][0]["attributes"]["id"]
        for r in state["resources"]
        if r["type"] == "aws_security_group" and r.get("module") in wanted
    }
    ec2 = boto3.client("ec2")

    def ingress(group_id: str) -> list[tuple[int, str | None]]:
        rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])
        return [(r["FromPort"], r.get("ReferencedGroupInfo", {}).get("GroupId"))
                for r in rules["SecurityGroupRules"] if not r["IsEgress"]]

    etl_sg = next(v for (m, _), v in groups.items() if m == "module.etl")
    assert ingress(groups[("module.warehouse.module.host", "this")]) == [(5432, etl_sg)]
    assert ingress(groups[("module.oltp.module.host", "this")]) == []


def test_ingest_and_etl_are_deployed(plat: LocalPlatform) -> None:
    outputs = plat.outputs
    lam = boto3.client("lambda")
    etl = lam.get_function(FunctionName=outputs["etl_function_name"])["Configuration"]
    assert etl["VpcConfig"]["SubnetIds"]
    param = etl["Environment"]["Variables"]["DW_PASSWORD_PARAM"]
    assert param.endswith(f":parameter{outputs['warehouse_password_parameter_name']}")
    ingest = lam.get_function(FunctionName=outputs["ingest_function_name"])["Configuration"]
    assert ingest["State"] in ("Active", "Pending")


# -- the data path -------------------------------------------------------------------------------

def test_the_runners_run_what_terraform_deployed(plat: LocalPlatform) -> None:
    assert plat.ingest.config.handler == "ingest.handler.handler"
    assert plat.ingest.config.environment["RAW_BUCKET"] == plat.raw_bucket
    assert plat.etl.config.environment["RAW_BUCKET"] == plat.raw_bucket
    # Ingest buffers in the queue envs/local created; the poller runs the deployed batcher on it.
    assert plat.ingest.config.environment["BUFFER_QUEUE_URL"] == plat.outputs["buffer_queue_url"]
    assert plat.batcher.config.handler == "batcher.handler.handler"
    assert plat.batcher.config.name == plat.outputs["batcher_function_name"]
    assert plat.batcher.config.environment["RAW_BUCKET"] == plat.raw_bucket
    assert plat.buffer.queue_url == plat.outputs["buffer_queue_url"]
    # The emulator runs no event source mapping: envs/local creates it disabled (moto would
    # otherwise try to run the function itself on every SendMessage).
    (esm,) = [m for m in boto3.client("lambda").list_event_source_mappings()["EventSourceMappings"]
              if m["FunctionArn"].endswith(f":function:{plat.outputs['batcher_function_name']}")]
    assert esm["State"] == "Disabled"


def test_generated_traffic_reaches_the_warehouse_exactly(plat: LocalPlatform) -> None:
    # Events dated from two days ago: late and current partitions both get exercised.
    start = (datetime.now(UTC) - timedelta(days=2)).date()
    cfg = TrafficConfig(seed=11, events=3000, start=start, days=3)
    sent, truth = send_over_http(cfg, plat.events_url, origin=SHOP_ORIGIN)

    assert set(sent.statuses) == {200}, sent.statuses
    assert sent.accepted + sent.rejected == sent.events_sent
    assert sent.rejected == sent.expected_rejects > 0

    # Nothing reaches the lake before the batcher runs; then one object per batch and kind,
    # far fewer than one per request.
    s3 = boto3.client("s3")
    before = s3.list_objects_v2(Bucket=plat.raw_bucket).get("KeyCount", 0)
    runs = _run_etl_until_done(plat)
    assert sum(r["files_failed"] for r in runs) == 0, runs
    objects = sum(page.get("KeyCount", 0)
                  for page in s3.get_paginator("list_objects_v2").paginate(Bucket=plat.raw_bucket))
    assert before == 0 and 0 < objects < sent.requests / 5, (before, objects, sent.requests)
    sqs = boto3.client("sqs")
    depth = sqs.get_queue_attributes(QueueUrl=plat.outputs["buffer_queue_url"],
                                     AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert depth["ApproximateNumberOfMessages"] == "0"

    dw = plat.dw_dsn
    assert _scalar(dw, "SELECT count(*) FROM dw.events") == truth.unique_events
    assert _scalar(dw, "SELECT count(*) FROM dw.rejected_events") == sent.rejected
    assert _scalar(dw, "SELECT count(*) - count(DISTINCT event_id) FROM dw.events") == 0
    assert _scalar(dw, "SELECT count(*) FROM dw.sessions WHERE NOT is_bot") == truth.sessions
    purchases = _scalar(dw, "SELECT count(DISTINCT transaction_id) FROM dw.events WHERE event_name = 'purchase'")
    assert purchases == truth.purchases
    # The dashboards read rollups through the read-only login: same revenue as the generator.
    revenue = _scalar(plat.dashboard_dsn, "SELECT coalesce(sum(revenue), 0) FROM dw.daily_overview")
    assert float(revenue) == pytest.approx(truth.revenue, abs=0.01)
    # A second run finds nothing new: exactly once.
    again = plat.run_etl()
    assert again["files_loaded"] == 0 and again["events_loaded"] == 0


@pytest.mark.browser
def test_a_checkout_in_the_demo_shop_reaches_the_warehouse_and_the_dashboard(plat: LocalPlatform, tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    dash_port = free_port()
    shop = start_shop(SHOP_PORT, plat.events_url, "shop-web")
    dash = start_dashboards(dash_port, plat.dashboard_dsn, tmp_path / "shiny.log")
    try:
        wait_for_port("127.0.0.1", dash_port, timeout=60)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            ctx = browser.new_context(user_agent=DESKTOP_UA, viewport={"width": 1280, "height": 900})
            page = ctx.new_page()
            page.set_default_timeout(30_000)

            def purchases_on_dashboard() -> int:
                page.goto(f"http://127.0.0.1:{dash_port}/")
                page.get_by_role("tab", name="Funnel").click()
                pane = ".tab-pane[data-value='funnel']"
                page.wait_for_selector(f"{pane}.active", state="attached")
                page.wait_for_selector("#funnel-purchase", state="attached")
                page.wait_for_function("(p) => !document.querySelector(p + ' .recalculating')", arg=pane)
                return int(page.get_attribute("#funnel-purchase", "data-value")
                           or page.inner_text("#funnel-purchase").replace(",", ""))

            _run_etl_until_done(plat)
            before = purchases_on_dashboard()

            sent_ids: list[str] = []

            def on_request(req) -> None:
                if req.url == plat.events_url and req.method == "POST":
                    sent_ids.extend(e["event_id"] for e in json.loads(req.post_data)["events"])

            page.on("request", on_request)
            page.goto(f"{SHOP_ORIGIN}/demo-shop/")
            page.click("[data-testid=product-LAP-1001]")
            page.click("[data-testid=add-to-cart]")
            page.click("[data-testid=cart-link]")
            page.click("[data-testid=checkout]")
            page.click("[data-testid=shipping]")

            def is_purchase_batch(resp) -> bool:
                return (resp.url == plat.events_url and resp.request.method == "POST"
                        and '"purchase"' in (resp.request.post_data or ""))

            # The shop flushes the tracker right after the purchase: wait for the API's answer.
            with page.expect_response(is_purchase_batch) as answer:
                page.click("[data-testid=pay]")
            assert answer.value.status == 200
            assert answer.value.json()["rejected"] == []
            order = page.inner_text("[data-testid=order-id]")

            _run_etl_until_done(plat)
            loaded = _scalar(plat.dw_dsn, "SELECT count(*) FROM dw.events WHERE event_id = ANY(%s::uuid[])",
                             (sent_ids,))
            with psycopg.connect(plat.dw_dsn) as conn:
                names = {r[0] for r in conn.execute(
                    "SELECT event_name FROM dw.events WHERE event_id = ANY(%s::uuid[])", (sent_ids,))}
            assert loaded == len(set(sent_ids)) > 0
            assert {"page_view", "view_item", "add_to_cart", "begin_checkout", "add_payment_info",
                    "purchase"} <= names
            assert _scalar(plat.dw_dsn, "SELECT count(*) FROM dw.events WHERE transaction_id = %s",
                           (order,)) == 1
            assert purchases_on_dashboard() == before + 1
            ctx.close()
            browser.close()
    finally:
        stop_process(dash)
        shop.shutdown()
        shop.server_close()


# -- teardown, proven -------------------------------------------------------------------------------

def test_destroy_removes_the_platform(plat: LocalPlatform) -> None:
    plat.terraform.destroy(plat.variables)
    names = [f["FunctionName"] for f in boto3.client("lambda").list_functions()["Functions"]]
    assert plat.ingest.config.name not in names and plat.etl.config.name not in names
    buckets = [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    assert plat.raw_bucket not in buckets
    assert plat.terraform.state().get("resources", []) == []
