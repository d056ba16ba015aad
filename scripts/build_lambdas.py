#!/usr/bin/env python3
"""Build every Lambda into build/lambda/<fn>.zip (see clickstream/build.py for why it is deterministic)."""

import sys

from clickstream.build import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
