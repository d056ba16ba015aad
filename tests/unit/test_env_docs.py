"""envs/aws/README.md, the root of both account envs, describes their two tfvars side by side:
the table's figures must be the tfvars' values (it once said dev kept logs 30 days while its
tfvars said 365)."""

from __future__ import annotations

import re

import pytest

from clickstream import REPO_ROOT, envs
from clickstream.tfvars import root_settings

pytestmark = pytest.mark.unit

DEV, PROD = (root_settings(e.root, e.var_files) for e in map(envs.layout, ("dev", "prod")))


def _row(label: str) -> tuple[str, str]:
    text = (REPO_ROOT / "envs/aws/README.md").read_text()
    (match,) = re.findall(rf"^\| {re.escape(label)}[^|]* \| ([^|]+) \| ([^|]+) \|$", text, re.MULTILINE)
    return match[0].strip(), match[1].strip()


def test_retention_row_matches_the_tfvars() -> None:
    dev, prod = _row("log retention")
    for cell, env in ((dev, DEV), (prod, PROD)):
        assert cell == f"{env['retention']['log_days']} / {env['retention']['backup_days']} days", cell


def test_zone_count_and_sizes_match_the_tfvars() -> None:
    assert _row("AZs") == (str(len(DEV["availability_zones"])), str(len(PROD["availability_zones"])))
    dev, prod = _row("warehouse / OLTP hosts")
    for cell, env in ((dev, DEV), (prod, PROD)):
        s = env["sizes"]
        assert cell == (f"{s['warehouse_instance_type']}, {s['warehouse_data_gib']} GiB / "
                        f"{s['oltp_instance_type']}, {s['oltp_data_gib']} GiB"), cell


def test_reservations_are_documented_off_where_the_tfvars_leave_them_off() -> None:
    dev, prod = _row("Lambda reserved concurrency")
    for cell, env in ((dev, DEV), (prod, PROD)):
        off = not any(env["lambda_reserved_concurrency"].values())
        assert cell.startswith("off") == off, cell
