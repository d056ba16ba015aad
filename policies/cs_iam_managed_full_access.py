"""CKV_CS_6: no AWS-managed admin or ``*FullAccess`` policy attached to a role, user or group.

Attaching ``AmazonS3FullAccess`` to a Lambda role grants ``s3:*`` on every bucket of the
account without a single ``*`` appearing in this repository, so CKV_CS_2 cannot see it.
Checkov's CKV_AWS_274 only catches AdministratorAccess.
"""

from __future__ import annotations

import re
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from cs_common import strings

BROAD_MANAGED = re.compile(
    r"^arn:aws[a-z-]*:iam::aws:policy/(?:.*/)?(?:AdministratorAccess|PowerUserAccess|IAMFullAccess|[A-Za-z0-9]*FullAccess)$"
)


class NoBroadManagedPolicies(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure no AWS-managed AdministratorAccess, PowerUserAccess or *FullAccess policy is attached",
            id="CKV_CS_6",
            categories=(CheckCategories.IAM,),
            supported_resources=(
                "aws_iam_role_policy_attachment",
                "aws_iam_user_policy_attachment",
                "aws_iam_group_policy_attachment",
                "aws_iam_policy_attachment",
                "aws_iam_role",
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        key = "managed_policy_arns" if self.entity_type == "aws_iam_role" else "policy_arn"
        self.evaluated_keys = [key]
        arns = strings(conf.get(key, []))
        return CheckResult.FAILED if any(BROAD_MANAGED.match(a) for a in arns) else CheckResult.PASSED


check = NoBroadManagedPolicies()
