"""CKV_CS_4: every CloudWatch log group has a finite retention (retention_in_days > 0).

The provider's default (0) keeps logs forever: cost grows without bound and request logs
with hashed client addresses outlive any data-retention promise. CKV_AWS_66 passes any value
including 0, and CKV_AWS_338 demands at least a year (a cost choice, not a security floor).
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from cs_common import as_int, scalar


class LogGroupRetention(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure every CloudWatch log group sets retention_in_days greater than 0",
            id="CKV_CS_4",
            categories=(CheckCategories.LOGGING,),
            supported_resources=("aws_cloudwatch_log_group",),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["retention_in_days"]
        if "retention_in_days" not in conf or scalar(conf["retention_in_days"]) is None:
            return CheckResult.FAILED
        days = as_int(conf["retention_in_days"])
        if days is None:
            return CheckResult.UNKNOWN  # a variable unresolved in source: the plan scan decides
        return CheckResult.PASSED if days > 0 else CheckResult.FAILED


check = LogGroupRetention()
