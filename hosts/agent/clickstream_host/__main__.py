"""``python -m clickstream_host <command>``: the few AWS calls of a database host.

Commands print only the value asked for, so the shell can capture it, and exit non-zero
with one line on stderr on failure (the bootstrap retries and reports it).
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"max_attempts": 8, "mode": "standard"}, connect_timeout=5, read_timeout=30)


def _client(service: str, region: str):
    return boto3.session.Session(region_name=region).client(service, config=_CONFIG)


def get_parameter(args: argparse.Namespace) -> int:
    ssm = _client("ssm", args.region)
    value = ssm.get_parameter(Name=args.name, WithDecryption=args.decrypt)["Parameter"]["Value"]
    sys.stdout.write(value)
    return 0


def put_parameter(args: argparse.Namespace) -> int:
    """Overwrite a String parameter the host owns; with --if-changed, only when it differs,
    so a converged host does not add a parameter version on every boot."""
    value = Path(args.value_file).read_text() if args.value_file else args.value
    if value is None:
        raise SystemExit("put-parameter needs --value or --value-file")
    ssm = _client("ssm", args.region)
    if args.if_changed:
        try:
            current = ssm.get_parameter(Name=args.name)["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            current = None
        if current == value:
            print("unchanged")
            return 0
    ssm.put_parameter(Name=args.name, Value=value, Type="String", Overwrite=True)
    print("written")
    return 0


def upload_stream(args: argparse.Namespace) -> int:
    """Stream stdin to S3 in parts: a dump of any size, no copy on the host's disk."""
    s3 = _client("s3", args.region)
    s3.upload_fileobj(sys.stdin.buffer, args.bucket, args.key)
    return 0


def wait_http(args: argparse.Namespace) -> int:
    """Wait until ``url`` answers 200; the bootstrap's proof that a service really serves."""
    deadline = time.monotonic() + args.timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(args.url, timeout=5) as resp:  # noqa: S310 - a loopback URL of our own
                if resp.status == 200:
                    return 0
                last = f"HTTP {resp.status}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(1)
    print(f"{args.url} did not answer 200 within {args.timeout} s: {last}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="clickstream-host", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("get-parameter", help="print an SSM parameter's value")
    p.add_argument("--region", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--decrypt", action="store_true", help="decrypt a SecureString")
    p.set_defaults(func=get_parameter)

    p = sub.add_parser("put-parameter", help="overwrite a String parameter")
    p.add_argument("--region", required=True)
    p.add_argument("--name", required=True)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--value")
    g.add_argument("--value-file")
    p.add_argument("--if-changed", action="store_true")
    p.set_defaults(func=put_parameter)

    p = sub.add_parser("upload-stream", help="stream stdin to s3://BUCKET/KEY")
    p.add_argument("--region", required=True)
    p.add_argument("--bucket", required=True)
    p.add_argument("--key", required=True)
    p.set_defaults(func=upload_stream)

    p = sub.add_parser("wait-http", help="wait until a URL answers 200")
    p.add_argument("--url", required=True)
    p.add_argument("--timeout", type=float, default=120)
    p.set_defaults(func=wait_http)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except Exception as exc:  # one line for the bootstrap's log, not a traceback
        print(f"clickstream-host {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
