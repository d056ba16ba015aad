"""``python -m shiny_app [--host 127.0.0.1] [--port 8050]``.

The app binds to the loopback interface by default: on the DW host it is reached through
SSM port forwarding, never from the network, so listening elsewhere is an explicit choice.
"""

from __future__ import annotations

import argparse
import sys

import shiny


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shiny_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default loopback)")
    parser.add_argument("--port", type=int, default=8050)
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        print(f"warning: binding {args.host}, not loopback; the dashboards have no login of "
              "their own", file=sys.stderr)
    shiny.run_app("shiny_app.app:app", host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
