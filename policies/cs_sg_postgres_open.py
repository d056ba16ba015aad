"""CKV_CS_1: no security group admits PostgreSQL (5432) from the whole internet.

The warehouse and OLTP hosts run PostgreSQL; the design reaches them only from their own
security groups or the VPC. Checkov's CKV_AWS_24/25/260 cover ports 22, 3389 and 80 only, and
its shared base misreads ``aws_vpc_security_group_ingress_rule`` with ``ip_protocol = "-1"``
(all ports, no from/to). This check covers every rule form the aws provider has:
``aws_security_group`` inline ``ingress`` blocks, ``aws_security_group_rule`` of type
``ingress`` and ``aws_vpc_security_group_ingress_rule``, for IPv4 and IPv6 (any ``/0``).
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from cs_common import as_int, blocks, is_open_cidr, scalar, strings

POSTGRES_PORT = 5432
ALL_PROTOCOLS = {"-1", "all"}
TCP = {"tcp", "6"}


def _covers_port(rule: dict[str, Any], protocol_key: str, port: int) -> bool:
    protocol = str(scalar(rule.get(protocol_key, ["-1"])) or "-1").lower()
    if protocol in ALL_PROTOCOLS:
        return True
    if protocol not in TCP:
        return False
    low, high = as_int(rule.get("from_port")), as_int(rule.get("to_port"))
    if low is None or high is None:
        return False  # unknown in source; the plan scan sees the resolved value
    if low == 0 and high == 0:
        return True
    return low <= port <= high


def _open_sources(rule: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    return [c for k in keys for c in strings(rule.get(k, [])) if is_open_cidr(c)]


class PostgresOpenToInternet(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure no security group rule allows ingress from 0.0.0.0/0 or ::/0 to PostgreSQL port 5432",
            id="CKV_CS_1",
            categories=(CheckCategories.NETWORKING,),
            supported_resources=(
                "aws_security_group",
                "aws_security_group_rule",
                "aws_vpc_security_group_ingress_rule",
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        rtype = self.entity_type
        if rtype == "aws_security_group":
            for i, rule in enumerate(blocks(conf.get("ingress", []))):
                if _covers_port(rule, "protocol", POSTGRES_PORT) and _open_sources(
                    rule, ("cidr_blocks", "ipv6_cidr_blocks")
                ):
                    self.evaluated_keys = [f"ingress/[{i}]/cidr_blocks", f"ingress/[{i}]/ipv6_cidr_blocks"]
                    return CheckResult.FAILED
            return CheckResult.PASSED
        if rtype == "aws_security_group_rule":
            self.evaluated_keys = ["type", "from_port", "to_port", "cidr_blocks", "ipv6_cidr_blocks"]
            if str(scalar(conf.get("type", [""]))).lower() != "ingress":
                return CheckResult.PASSED
            if _covers_port(conf, "protocol", POSTGRES_PORT) and _open_sources(
                conf, ("cidr_blocks", "ipv6_cidr_blocks")
            ):
                return CheckResult.FAILED
            return CheckResult.PASSED
        # aws_vpc_security_group_ingress_rule: one source per rule.
        self.evaluated_keys = ["ip_protocol", "from_port", "to_port", "cidr_ipv4", "cidr_ipv6"]
        if _covers_port(conf, "ip_protocol", POSTGRES_PORT) and _open_sources(conf, ("cidr_ipv4", "cidr_ipv6")):
            return CheckResult.FAILED
        return CheckResult.PASSED


check = PostgresOpenToInternet()
