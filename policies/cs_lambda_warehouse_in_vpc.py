"""CKV_CS_5: a Lambda that talks to the warehouse runs inside the VPC.

The warehouse has no public address; a function configured for it (any ``DW_*`` environment
variable, the ETL contract) must have a ``vpc_config`` with subnets and security groups, or it
either cannot reach PostgreSQL or someone opened PostgreSQL to it from outside. CKV_AWS_117
wants every Lambda in a VPC, which the ingest function (S3 writes only) rightly is not.
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from cs_common import blocks, strings

WAREHOUSE_PREFIX = "DW_"


class WarehouseLambdaInVpc(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure a Lambda function configured for the warehouse (DW_* environment) runs in a VPC",
            id="CKV_CS_5",
            categories=(CheckCategories.NETWORKING,),
            supported_resources=("aws_lambda_function",),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        names: set[str] = set()
        for env in blocks(conf.get("environment", [])):
            for variables in blocks(env.get("variables", [])):
                names.update(variables)
        if not any(n.startswith(WAREHOUSE_PREFIX) for n in names):
            return CheckResult.UNKNOWN  # not a warehouse client: the check does not apply
        self.evaluated_keys = ["vpc_config"]
        for vpc in blocks(conf.get("vpc_config", [])):
            if strings(vpc.get("subnet_ids", [])) and strings(vpc.get("security_group_ids", [])):
                return CheckResult.PASSED
            if "subnet_ids" not in vpc or "security_group_ids" not in vpc:
                # In a plan, ids of subnets/groups created in the same run are unknown and
                # left out: a vpc_config is there, its contents cannot be judged yet.
                return CheckResult.UNKNOWN
        return CheckResult.FAILED


check = WarehouseLambdaInVpc()
