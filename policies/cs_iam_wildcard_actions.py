"""CKV_CS_2 / CKV_CS_3: identity policies grant named actions, never ``*`` or ``service:*``.

Checkov's CKV_AWS_63/CKV_AWS_49 only catch a bare ``"*"``; ``"s3:*"`` on a Lambda role is as
broad as it gets for that service and is what least privilege forbids here. ``NotAction`` in an
Allow statement grants everything but the listed actions, so it fails too. Covered: every
identity policy resource (role, user and group inline policies, managed policies, a role's
``inline_policy`` blocks) and ``aws_iam_policy_document`` data sources. Resource policies (key,
bucket, endpoint policies) are out of scope: their principals, not their actions, bound them;
a policy-document statement with ``principals`` is such a resource policy and is not judged.
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.data.base_check import BaseDataCheck
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from cs_common import blocks, broad_actions, policy_document, scalar, statements, strings

NAME = 'Ensure IAM identity policies allow no "*" or "service:*" actions and no Allow with NotAction'


def _document_verdict(doc: dict[str, Any]) -> CheckResult:
    for statement in statements(doc):
        if str(scalar(statement.get("Effect", "Allow"))) != "Allow":
            continue
        if "NotAction" in statement:
            return CheckResult.FAILED
        if broad_actions(strings(statement.get("Action", []))):
            return CheckResult.FAILED
    return CheckResult.PASSED


class IdentityPolicyWildcardActions(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name=NAME,
            id="CKV_CS_2",
            categories=(CheckCategories.IAM,),
            supported_resources=(
                "aws_iam_policy",
                "aws_iam_role_policy",
                "aws_iam_user_policy",
                "aws_iam_group_policy",
                "aws_iam_role",
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        if self.entity_type == "aws_iam_role":
            self.evaluated_keys = ["inline_policy"]
            raw = [b.get("policy") for b in blocks(conf.get("inline_policy", []))]
        else:
            self.evaluated_keys = ["policy"]
            raw = [conf.get("policy")]
        verdicts = []
        for value in raw:
            if value is None:
                continue
            doc = policy_document(value)
            if doc is None:
                return CheckResult.UNKNOWN  # a reference unresolved in source: the plan scan decides
            verdicts.append(_document_verdict(doc))
        return CheckResult.FAILED if CheckResult.FAILED in verdicts else CheckResult.PASSED


class PolicyDocumentWildcardActions(BaseDataCheck):
    def __init__(self) -> None:
        super().__init__(
            name=NAME,
            id="CKV_CS_3",
            categories=(CheckCategories.IAM,),
            supported_data=("aws_iam_policy_document",),
        )

    def scan_data_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["statement"]
        for statement in blocks(conf.get("statement", [])):
            if str(scalar(statement.get("effect", "Allow"))) != "Allow":
                continue
            if statement.get("principals") or statement.get("not_principals"):
                # A resource policy (key, bucket, queue): its principals bound it; the
                # account-root "kms:*" statement of a key policy is the AWS-documented default.
                continue
            if strings(statement.get("not_actions", [])):
                return CheckResult.FAILED
            if broad_actions(strings(statement.get("actions", []))):
                return CheckResult.FAILED
        return CheckResult.PASSED


check = IdentityPolicyWildcardActions()
data_check = PolicyDocumentWildcardActions()
