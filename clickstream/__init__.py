"""Local harness for the clickstream platform.

The platform itself is Terraform (``modules/``, ``envs/``) plus the Lambda sources
(``lambda_src/``). This package is what proves it on one machine: it starts the AWS emulator
and a throwaway PostgreSQL, drives Terraform against them, builds deterministic Lambda zips and
runs the deployed artifacts. Tests, benchmarks and ``make demo`` all use it.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
