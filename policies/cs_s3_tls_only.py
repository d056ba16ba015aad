"""CKV_CS_7: every S3 bucket policy denies requests that do not use TLS (FSBP S3.5).

Checkov has no check for the ``aws:SecureTransport`` deny. A bucket policy here must hold a
``Deny`` statement for ``s3:*`` (or ``*``) whose condition is ``Bool aws:SecureTransport =
false``. Which buckets must have a policy at all is asserted by the module plan tests.
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from cs_common import blocks, policy_document, scalar, statements, strings


def _denies_plain_http(statement: dict[str, Any]) -> bool:
    if str(scalar(statement.get("Effect", ""))) != "Deny":
        return False
    if not {"s3:*", "*"} & set(strings(statement.get("Action", []))):
        return False
    for cond in blocks(statement.get("Condition", {})):
        for op, values in cond.items():
            if op.lower() != "bool":
                continue
            for inner in blocks(values):
                for key, val in inner.items():
                    if key.lower() == "aws:securetransport" and str(scalar(val)).lower() == "false":
                        return True
    return False


class BucketPolicyTlsOnly(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure every S3 bucket policy denies requests without TLS (aws:SecureTransport = false)",
            id="CKV_CS_7",
            categories=(CheckCategories.ENCRYPTION,),
            supported_resources=("aws_s3_bucket_policy",),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["policy"]
        doc = policy_document(conf.get("policy"))
        if doc is None:
            return CheckResult.UNKNOWN  # a data source reference in source: the plan scan decides
        return CheckResult.PASSED if any(_denies_plain_http(s) for s in statements(doc)) else CheckResult.FAILED


check = BucketPolicyTlsOnly()
