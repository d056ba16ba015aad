"""The small HCL reader behind the preflight: literals exactly, everything else kept as an
expression (and refused in a tfvars file, with file and line), every Terraform file of the
repository parseable, and the envs' settings read as Terraform merges them."""

from __future__ import annotations

from pathlib import Path

import pytest

from clickstream import REPO_ROOT
from clickstream.tfvars import Expression, HclError, parse, parse_file, read_tfvars, root_settings, variable_defaults

pytestmark = pytest.mark.unit

TFVARS = r'''
# comment
region = "eu-central-1" // trailing comment
count  = 3
ratio  = 0.5
neg    = -1
on     = true
none   = null
/* a block
   comment */
zones  = ["a", "b",
          "c"]
nested = {
  name    = "x # not a comment"
  "quoted key" = { deep = [1, { k = "v" }] }
  colon: "ok"
  escaped = "tab\there \"q\" $${literal} \u00e9"
}
empty_list = []
empty_map  = {}
'''


def test_literals_are_read_exactly(tmp_path: Path) -> None:
    path = tmp_path / "terraform.tfvars"
    path.write_text(TFVARS)
    assert read_tfvars(path) == {
        "region": "eu-central-1", "count": 3, "ratio": 0.5, "neg": -1, "on": True, "none": None,
        "zones": ["a", "b", "c"],
        "nested": {"name": "x # not a comment", "quoted key": {"deep": [1, {"k": "v"}]}, "colon": "ok",
                   "escaped": 'tab\there "q" ${literal} é'},
        "empty_list": [], "empty_map": {},
    }


@pytest.mark.parametrize("line", [
    'name = "clickstream-${var.env}"',
    "zones = var.zones",
    'zones = ["a", local.b]',
    "size = 1 + 2",
    'ids = [for z in ["a"] : upper(z)]',
    'x = { a = 1 }["a"]',
])
def test_a_tfvars_expression_is_refused_with_file_and_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "x.tfvars"
    path.write_text(f'ok = "yes"\n{line}\n')
    with pytest.raises(HclError, match=r"x\.tfvars:2: .*only literal values"):
        read_tfvars(path)


def test_expressions_keep_their_text_and_their_literal_neighbours() -> None:
    body = parse('''
module "etl" {
  source = "../../modules/etl"
  lambda = { memory_size = var.sizes.etl_memory_mb, reserved_concurrency = 1 }
  warehouse = {
    host    = module.warehouse.private_ip
    sslmode = "require"
  }
  azs = ["${var.region}a", "${var.region}b"]
  when = var.x == null ? 1 : (2 + 3)
  desc = <<-EOT
    indented ${var.y}
  EOT
}
''')
    (block,) = body.blocks_of("module", "etl")
    attrs = block.body.attributes
    assert attrs["source"] == "../../modules/etl"
    assert attrs["lambda"] == {"memory_size": Expression("var.sizes.etl_memory_mb", 4), "reserved_concurrency": 1}
    assert attrs["warehouse"]["sslmode"] == "require"
    assert attrs["warehouse"]["host"].text == "module.warehouse.private_ip"
    assert [e.text for e in attrs["azs"]] == ['"${var.region}a"', '"${var.region}b"']
    assert attrs["when"].text == "var.x == null ? 1 : (2 + 3)"
    assert isinstance(attrs["desc"], Expression)  # a heredoc with an interpolation is not a literal


def test_heredoc_without_interpolation_is_a_string() -> None:
    body = parse('variable "x" {\n  description = <<-EOT\n    one\n      two\n  EOT\n  default = 1\n}\n')
    (var,) = body.blocks_of("variable", "x")
    assert var.body.attributes == {"description": "one\n  two\n", "default": 1}


def test_errors_name_the_line() -> None:
    with pytest.raises(HclError, match="<hcl>:2: unterminated string"):
        parse('a = 1\nb = "open\n')
    with pytest.raises(HclError, match="<hcl>:3: missing '}'"):
        parse('x {\n  a = 1\n')


def test_every_terraform_file_of_the_repository_parses() -> None:
    files = [p for pattern in ("modules/**/*.tf", "envs/**/*.tf", "modules/**/*.tftest.hcl", "envs/*/*.tfvars",
                               "envs/*/backend.hcl.example")
             for p in REPO_ROOT.glob(pattern) if ".terraform" not in p.parts]
    assert len(files) > 40
    for path in files:
        parse_file(path)


def test_variable_defaults_are_the_literal_ones() -> None:
    defaults = variable_defaults(REPO_ROOT / "modules" / "platform")
    assert defaults["allowed_app_ids"] == ["shop-web"]
    assert defaults["lambda_reserved_concurrency"] == {}
    assert defaults["ami_id"] is None
    assert "name" not in defaults and "network" not in defaults  # required: no default
    assert "region" not in variable_defaults(REPO_ROOT / "envs" / "aws")


def test_env_settings_are_defaults_overlaid_by_the_tfvars() -> None:
    dev = root_settings(REPO_ROOT / "envs" / "aws", [REPO_ROOT / "envs/dev/terraform.tfvars"])
    assert dev["environment"] == "dev" and dev["region"] == "eu-central-1"
    assert dev["lambda_reserved_concurrency"] == {"ingest": None, "etl": None}
    assert dev["allowed_app_ids"] is None  # from the default: null, passed on as the platform's default
    local = root_settings(REPO_ROOT / "envs" / "local")
    assert (local["name"], local["region"]) == ("clickstream-local", "us-east-1")


def test_a_later_tfvars_file_wins(tmp_path: Path) -> None:
    (tmp_path / "variables.tf").write_text('variable "a" {\n  default = 1\n}\nvariable "b" {}\n')
    (tmp_path / "terraform.tfvars").write_text("a = 2\nb = 2\n")
    (tmp_path / "override.tfvars").write_text("b = 3\n")
    assert root_settings(tmp_path) == {"a": 2, "b": 3}
