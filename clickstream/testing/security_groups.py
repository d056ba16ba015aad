"""Security group checks over a ``terraform show -json`` plan.

Every way the aws provider can express an ingress rule is walked: inline ``ingress`` blocks of
``aws_security_group``, ``aws_vpc_security_group_ingress_rule`` and the legacy
``aws_security_group_rule`` with ``type = "ingress"``. A rule open to the whole internet
(``0.0.0.0/0`` or ``::/0``) is a finding; the platform's only public entry point is the HTTP
API, which has no security group at all, so no exception list is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from clickstream.testing.plan import iter_resources

OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})


@dataclass(frozen=True)
class IngressRule:
    """One planned ingress rule, normalised across the three resource shapes."""

    address: str
    protocol: str
    from_port: int | None
    to_port: int | None
    cidrs: tuple[str, ...]
    source_security_groups: tuple[str, ...]
    prefix_lists: tuple[str, ...]
    self_referencing: bool = False

    @property
    def open_to_internet(self) -> bool:
        return any(c in OPEN_CIDRS for c in self.cidrs)


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value if v is not None)


def iter_ingress_rules(plan: dict) -> Iterator[IngressRule]:
    """Every ingress rule in the plan's managed resources, child modules included.

    Unknown (apply-time) references such as a security group ID created in the same plan
    show up as missing values; a rule with only unknown sources is still yielded, with empty
    tuples, so counts stay right.
    """
    for res in iter_resources(plan):
        values = res.get("values") or {}
        address = res["address"]
        if res["type"] == "aws_security_group":
            for i, block in enumerate(values.get("ingress") or []):
                yield IngressRule(
                    address=f"{address}.ingress[{i}]",
                    protocol=str(block.get("protocol")),
                    from_port=block.get("from_port"),
                    to_port=block.get("to_port"),
                    cidrs=_tuple(block.get("cidr_blocks")) + _tuple(block.get("ipv6_cidr_blocks")),
                    source_security_groups=_tuple(block.get("security_groups")),
                    prefix_lists=_tuple(block.get("prefix_list_ids")),
                    self_referencing=bool(block.get("self")),
                )
        elif res["type"] == "aws_vpc_security_group_ingress_rule":
            yield IngressRule(
                address=address,
                protocol=str(values.get("ip_protocol")),
                from_port=values.get("from_port"),
                to_port=values.get("to_port"),
                cidrs=_tuple(values.get("cidr_ipv4")) + _tuple(values.get("cidr_ipv6")),
                source_security_groups=_tuple(values.get("referenced_security_group_id")),
                prefix_lists=_tuple(values.get("prefix_list_id")),
            )
        elif res["type"] == "aws_security_group_rule" and values.get("type") == "ingress":
            yield IngressRule(
                address=address,
                protocol=str(values.get("protocol")),
                from_port=values.get("from_port"),
                to_port=values.get("to_port"),
                cidrs=_tuple(values.get("cidr_blocks")) + _tuple(values.get("ipv6_cidr_blocks")),
                source_security_groups=_tuple(values.get("source_security_group_id")),
                prefix_lists=_tuple(values.get("prefix_list_ids")),
                self_referencing=bool(values.get("self")),
            )


def open_ingress_findings(plan: dict) -> list[str]:
    """Human-readable findings for every ingress rule open to 0.0.0.0/0 or ::/0."""
    return [
        f"{r.address}: ingress {r.protocol} {r.from_port}-{r.to_port} from {', '.join(r.cidrs)}"
        for r in iter_ingress_rules(plan)
        if r.open_to_internet
    ]


def assert_no_open_ingress(plan: dict) -> None:
    """Fail listing every security group rule that admits the whole internet."""
    findings = open_ingress_findings(plan)
    if findings:
        raise AssertionError("ingress open to the internet:\n  " + "\n  ".join(findings))


# -- hosts and storage ---------------------------------------------------------------------------
# Kept beside the ingress walk because every plan test of a module or env that launches hosts
# runs both: together they are the "no open door, nothing unencrypted" gate.


def instance_findings(plan: dict) -> list[str]:
    """Every planned EC2 instance that has a public IP, allows IMDSv1 or an unencrypted root."""
    findings: list[str] = []
    for res in iter_resources(plan):
        if res["type"] != "aws_instance":
            continue
        v, a = res.get("values") or {}, res["address"]
        if v.get("associate_public_ip_address") is not False:
            findings.append(f"{a}: associate_public_ip_address is {v.get('associate_public_ip_address')!r}, not false")
        meta = (v.get("metadata_options") or [{}])[0]
        if meta.get("http_tokens") != "required":
            findings.append(f"{a}: metadata_options.http_tokens is {meta.get('http_tokens')!r} (IMDSv2 not required)")
        if meta.get("http_put_response_hop_limit") not in (1,):
            findings.append(f"{a}: IMDS hop limit {meta.get('http_put_response_hop_limit')!r} lets containers reach it")
        for root in v.get("root_block_device") or [{}]:
            if root.get("encrypted") is not True:
                findings.append(f"{a}: root volume not encrypted")
        for ebs in v.get("ebs_block_device") or []:
            if ebs.get("encrypted") is not True:
                findings.append(f"{a}: ebs_block_device {ebs.get('device_name')} not encrypted")
    return findings


def storage_findings(plan: dict) -> list[str]:
    """Every EBS volume without encryption and every bucket without an encryption configuration.

    A bucket is paired with its ``aws_s3_bucket_server_side_encryption_configuration`` by module
    and resource name (``module.x.aws_s3_bucket.this`` with ``...configuration.this``), the
    naming convention of this repository.
    """
    resources = list(iter_resources(plan))
    findings = [
        f"{r['address']}: EBS volume not encrypted"
        for r in resources
        if r["type"] == "aws_ebs_volume" and (r.get("values") or {}).get("encrypted") is not True
    ]
    buckets = {r["address"].rsplit(".", 2)[0] + "|" + r["name"] + str(r.get("index", "")): r
               for r in resources if r["type"] == "aws_s3_bucket"}
    encrypted = {r["address"].rsplit(".", 2)[0] + "|" + r["name"] + str(r.get("index", ""))
                 for r in resources if r["type"] == "aws_s3_bucket_server_side_encryption_configuration"}
    findings += [f"{b['address']}: bucket has no server-side encryption configuration"
                 for key, b in buckets.items() if key not in encrypted]
    return findings
