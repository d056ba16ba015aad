"""Local harness for the clickstream platform.

The platform itself is Terraform (``modules/``, ``envs/``) plus the Lambda sources
(``lambda_src/``). This package is what proves it on one machine: it starts the AWS emulator
and a throwaway PostgreSQL, drives Terraform against them, builds deterministic Lambda zips and
runs the deployed artifacts. Tests, benchmarks and ``make demo`` all use it.
"""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The Lambda packages (``common``, ``ingest``, ``etl``) exactly as they are zipped. On the path
#: (appended, so it shadows nothing installed) for the harness modules that write what the
#: Lambdas read, e.g. the traffic generator uses the lake's key layout (``common.lake``).
LAMBDA_SRC = REPO_ROOT / "lambda_src"
if str(LAMBDA_SRC) not in sys.path:
    sys.path.append(str(LAMBDA_SRC))
