#!/usr/bin/env python3
"""Generate synthetic shop traffic into the raw bucket (or a folder) and print the truth.

    python scripts/generate_traffic.py --bucket raw --events 100000 --days 3
    python scripts/generate_traffic.py --out /tmp/lake --events 10000

S3 goes through boto3's standard configuration (AWS_ENDPOINT_URL for the emulator).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clickstream.traffic import TrafficConfig, generate, write_to_s3


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    dest = p.add_mutually_exclusive_group(required=True)
    dest.add_argument("--bucket", help="raw bucket to PUT objects into")
    dest.add_argument("--out", type=Path, help="write objects under this folder instead")
    p.add_argument("--events", type=int, default=10_000)
    p.add_argument("--days", type=int, default=1)
    p.add_argument("--start", type=date.fromisoformat, default=date(2024, 6, 3))
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--events-per-object", type=int, default=25)
    p.add_argument("--prefix", default="events/v1/")
    p.add_argument("--truth", type=Path, help="also write the truth JSON here")
    a = p.parse_args(argv)
    cfg = TrafficConfig(seed=a.seed, events=a.events, days=a.days, start=a.start,
                        events_per_object=a.events_per_object, raw_prefix=a.prefix)
    objects, truth = generate(cfg)
    if a.bucket:
        write_to_s3(objects, a.bucket)
    else:
        for o in objects:
            path = a.out / o.key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(o.body)
    text = json.dumps(truth.as_dict(), indent=2)
    if a.truth:
        a.truth.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
