"""Inventory comparison reports every difference and cannot pass on a mismatch."""

from __future__ import annotations

import pytest

from clickstream.testing.plan import inventory_errors, load_inventory, validation_errors

pytestmark = pytest.mark.harness

PLAN = {
    "planned_values": {
        "outputs": {"cidr": {"value": "10.0.0.0/16"}},
        "root_module": {
            "resources": [
                {"address": "aws_vpc.this", "mode": "managed", "type": "aws_vpc",
                 "values": {"cidr_block": "10.0.0.0/16", "tags": {"a": "b"}}},
                {"address": "data.aws_region.x", "mode": "data", "type": "aws_region", "values": {}},
            ],
            "child_modules": [{"resources": [
                {"address": "module.n.aws_subnet.private[0]", "mode": "managed", "type": "aws_subnet",
                 "values": {"map_public_ip_on_launch": False}},
                {"address": "module.n.aws_subnet.private[1]", "mode": "managed", "type": "aws_subnet",
                 "values": {"map_public_ip_on_launch": True}},
            ]}],
        },
    }
}


def test_matching_subset_has_no_errors() -> None:
    inv = {"values": {"aws_vpc.this": {"cidr_block": "10.0.0.0/16"}},
           "counts": {"aws_vpc": 1, "aws_subnet": 2, "aws_nat_gateway": 0},
           "outputs": {"cidr": "10.0.0.0/16"}}
    assert inventory_errors(PLAN, inv) == []


def test_every_mismatch_is_reported() -> None:
    inv = {"values": {"module.n.aws_subnet.private[1]": {"map_public_ip_on_launch": False},
                      "aws_vpc.this": {"tags": {"a": "c"}}, "aws_vpc.other": {}},
           "counts": {"aws_subnet": 3, "aws_region": 1}, "outputs": {"missing": 1}}
    errors = inventory_errors(PLAN, inv)
    assert len(errors) == 6, errors
    assert any("map_public_ip_on_launch: expected False, got True" in e for e in errors)
    assert any("aws_vpc.other: not in plan" in e for e in errors)
    # data sources are not managed resources and are not counted
    assert any("count of aws_region: expected 1, got 0" in e for e in errors)


def test_unknown_inventory_keys_are_refused(tmp_path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text("value: {}\n")
    with pytest.raises(ValueError, match="unknown inventory keys"):
        load_inventory(path)


VALIDATION_OUTPUT = """
Error: Invalid value for variable

  on main.tf line 3, in module "network":
   3:   name = var.name

name must be 3-32 characters.

This was checked by the validation rule at ../../modules/network/variables.tf:4,3-13.

Error: Invalid value for variable

  on zz_harness.tfvars.json line 7:
   7:   "shop_origins": [
   8:     "https://main.example.amplifyapp.com"

shop_origins: an *.amplifyapp.com origin must be
the deployed branch's.

This was checked by the validation rule at variables.tf:70,3-13.

Error: reading SSM Parameter (/x): couldn't find resource
"""


def test_validation_errors_name_module_arguments_and_root_variables() -> None:
    assert validation_errors(VALIDATION_OUTPUT) == {
        "name": ["name must be 3-32 characters."],
        "shop_origins": ["shop_origins: an *.amplifyapp.com origin must be the deployed branch's."],
    }
