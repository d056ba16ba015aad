"""The test's side of a booted host, run inside the host's network namespace.

``ip netns exec <ns> python -m tests.e2e.hosts.netns_client <command>`` talks to what the host
serves on its loopback (PostgreSQL over TLS, the dashboards) and to the moto that stands in
for SSM and S3 there, and prints one JSON document. The test process itself stays outside
the namespace.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile

import boto3


def seed(args: argparse.Namespace) -> dict:
    """The account as Terraform leaves it: the bucket, the password, the two host parameters."""
    ssm = boto3.client("ssm")
    boto3.client("s3").create_bucket(Bucket=args.bucket, CreateBucketConfiguration={"LocationConstraint": args.region})
    ssm.put_parameter(Name=args.password_param, Value=args.password, Type="SecureString")
    for name in (args.status_param, args.ca_param):
        ssm.put_parameter(Name=name, Value="pending", Type="String")
    return {"seeded": True}


def ssm_get(args: argparse.Namespace) -> dict:
    p = boto3.client("ssm").get_parameter(Name=args.name, WithDecryption=True)["Parameter"]
    return {"value": p["Value"], "version": p["Version"]}


def s3_list(args: argparse.Namespace) -> dict:
    resp = boto3.client("s3").list_objects_v2(Bucket=args.bucket, Prefix=args.prefix)
    return {"objects": [{"key": o["Key"], "size": o["Size"]} for o in resp.get("Contents", [])]}


def _owner_dsn(args: argparse.Namespace) -> str:
    """A DSN as the ETL uses it: verify-full against the CA the host published to SSM."""
    ssm = boto3.client("ssm")
    ca = ssm.get_parameter(Name=args.ca_param)["Parameter"]["Value"]
    password = ssm.get_parameter(Name=args.password_param, WithDecryption=True)["Parameter"]["Value"]
    f = tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False)  # noqa: SIM115 - kept for the DSN
    f.write(ca)
    f.close()
    return (f"host=127.0.0.1 port=5432 dbname={args.db} user={args.user} password={password} "
            f"sslmode=verify-full sslrootcert={f.name}")


def sql(args: argparse.Namespace) -> dict:
    import psycopg

    with psycopg.connect(_owner_dsn(args)) as conn:
        rows = conn.execute(args.query).fetchall()
        info = {"ssl": conn.info.pgconn.ssl_in_use, "user": conn.info.user}
    return {"rows": [list(map(str, r)) for r in rows], **info}


def load(args: argparse.Namespace) -> dict:
    """Generated traffic through the ETL's parse and load code, as the owner over TLS."""
    from tests.e2e.dashboards import dashdata

    dashdata.load_warehouse(_owner_dsn(args), migrated=True)
    return {"loaded": True}


def dashboards(args: argparse.Namespace) -> dict:
    """The overview's headline numbers as Chromium shows them, and as SQL computes them."""
    from playwright.sync_api import sync_playwright

    from shiny_app import queries as Q
    from tests.browser.test_dashboards import CHROMIUM, CHROMIUM_ARGS

    with Q.connect(_owner_dsn(args)) as conn:
        b = Q.run(conn, "date_bounds").iloc[0]
        figs = Q.overview_figures(Q.run(conn, "overview", Q.Filters(b["first_day"], b["last_day"]))).set_index("metric")
    want = {m: float(figs.loc[m, "current"]) for m, _ in Q.OVERVIEW_METRICS}
    got: dict[str, str | None] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(60_000)
        page.goto(args.url)
        for metric, value in want.items():
            sel = f"#kpi-{metric}"
            # A mismatch is reported by the test with what the page shows, not raised here.
            with contextlib.suppress(Exception):
                page.wait_for_function(
                    "([s, v]) => { const e = document.querySelector(s); return e && e.dataset.value === v; }",
                    arg=[sel, repr(value)], timeout=60_000)
            got[metric] = page.get_attribute(sel, "data-value")
        title = page.title()
        browser.close()
    return {"want": {k: repr(v) for k, v in want.items()}, "got": got, "title": title}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("seed")
    for a in ("region", "bucket", "password-param", "status-param", "ca-param", "password"):
        p.add_argument(f"--{a}", required=True)
    p.set_defaults(func=seed)
    p = sub.add_parser("ssm-get")
    p.add_argument("--name", required=True)
    p.set_defaults(func=ssm_get)
    p = sub.add_parser("s3-list")
    p.add_argument("--bucket", required=True)
    p.add_argument("--prefix", default="")
    p.set_defaults(func=s3_list)
    for name, func in (("sql", sql), ("load", load), ("dashboards", dashboards)):
        p = sub.add_parser(name)
        for a in ("ca-param", "password-param", "db", "user"):
            p.add_argument(f"--{a}", required=True)
        if name == "sql":
            p.add_argument("--query", required=True)
        if name == "dashboards":
            p.add_argument("--url", required=True)
        p.set_defaults(func=func)
    args = parser.parse_args(argv)
    json.dump(args.func(args), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
