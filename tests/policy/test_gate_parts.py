"""The gate's own parsing: addresses, module directories, skip comments, checkov output."""

from __future__ import annotations

from pathlib import Path

import pytest

from clickstream.security.hcl import _skip_comments, index_tf_dir, module_call_skip
from clickstream.security.model import SecurityError, target_of
from clickstream.security.plans import module_dirs, split_address
from clickstream.security.runs import parse_checkov_json

pytestmark = pytest.mark.policy


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("aws_s3_bucket.this", ("", "aws_s3_bucket.this")),
        ("aws_s3_bucket.this[0]", ("", "aws_s3_bucket.this")),
        ('module.net.aws_network_acl.private["data"]', ("module.net", "aws_network_acl.private")),
        ('module.a["x.y"].module.b[1].aws_iam_role.this', ("module.a.module.b", "aws_iam_role.this")),
    ],
)
def test_split_address(address: str, expected: tuple[str, str]) -> None:
    assert split_address(address) == expected


def test_module_dirs_follow_nested_local_sources() -> None:
    plan = {"configuration": {"root_module": {"module_calls": {
        "endpoints": {"source": "../..", "module": {"module_calls": {"net": {"source": "../network"}}}},
        "remote": {"source": "terraform-aws-modules/vpc/aws"},
    }}}}
    dirs = module_dirs(plan, "modules/endpoints/examples/basic")
    assert dirs == {
        "": "modules/endpoints/examples/basic",
        "module.endpoints": "modules/endpoints",
        "module.endpoints.module.net": "modules/network",
    }


def test_skip_comments_need_a_comment_and_an_id() -> None:
    text = (
        '  #checkov:skip=CKV_AWS_1,CKV_AWS_2:Reason long enough to be read\n'
        '  pattern = "checkov:skip=CKV_AWS_3:in a string, not a comment"\n'
        "  # checkov:skip=<CHECK_ID>:placeholder in documentation\n"
        "  // checkov:skip=CKV_AWS_4\n"
    )
    skips = _skip_comments(text, "x.tf", first_line=10)
    assert [(s.line, s.check_ids, s.reason) for s in skips] == [
        (10, ("CKV_AWS_1", "CKV_AWS_2"), "Reason long enough to be read"),
        (13, ("CKV_AWS_4",), ""),
    ]


def test_index_finds_block_ranges_and_their_own_skips(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_s3_bucket" "this" {\n'
        '  #checkov:skip=CKV_AWS_18:Access logs go to the log bucket defined below\n'
        '  bucket = "b-${var.x}" # a "}" in a comment\n'
        "  tags = {\n    A = <<-EOT\n      } not a brace\n    EOT\n  }\n"
        "}\n"
        'data "aws_iam_policy_document" "this" {\n'
        "  statement {\n    actions = [\"s3:GetObject\"]\n  }\n"
        "}\n"
    )
    index = index_tf_dir(tmp_path)
    bucket = index["aws_s3_bucket.this"]
    assert bucket.lines == (1, 9)
    assert set(bucket.skips) == {"CKV_AWS_18"}
    assert bucket.skips["CKV_AWS_18"].reason.startswith("Access logs")
    assert index["data.aws_iam_policy_document.this"].lines == (10, 14)
    assert index["data.aws_iam_policy_document.this"].skips == {}


def test_checkov_output_with_several_documents_is_read_whole() -> None:
    out = '{"check_type": "terraform", "results": {}}\n[{"check_type": "secrets"}]\n'
    assert [d["check_type"] for d in parse_checkov_json(out)] == ["terraform", "secrets"]
    with pytest.raises(SecurityError, match="not JSON"):
        parse_checkov_json("Traceback (most recent call last):")


@pytest.mark.parametrize(
    ("file", "target"),
    [
        ("modules/ingest/s3.tf", "modules/ingest"),
        ("modules/ingest/examples/basic/main.tf", "modules/ingest"),
        ("envs/aws/main.tf", "envs/aws"),
        ("lambda_src/ingest/app.py", "lambda_src"),
        ("tests/policy/fixtures/insecure/main.tf", "tests/policy/fixtures/insecure"),
    ],
)
def test_findings_are_grouped_by_module_or_env(file: str, target: str) -> None:
    assert target_of(file) == target


def test_a_skip_on_a_module_call_covers_that_instance_only(tmp_path: Path) -> None:
    """An env accepts a finding for its own instance of a module, not for the module's others."""
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "main.tf").write_text(
        'module "host" {\n'
        "  #checkov:skip=CKV_AWS_126:Emulator-only env: the emulator lacks MonitorInstances.\n"
        '  source = "../mod"\n'
        "}\n"
        'module "other" {\n  source = "../mod"\n}\n'
    )
    (tmp_path / "mod").mkdir()
    (tmp_path / "mod" / "main.tf").write_text('resource "aws_instance" "this" {\n  monitoring = var.m\n}\n')

    def index(d: str) -> dict:
        return index_tf_dir(tmp_path / d)

    dirs = {"": "env", "module.host": "mod", "module.other": "mod"}
    skip = module_call_skip("module.host", "CKV_AWS_126", dirs, index)
    assert skip is not None and skip.reason.startswith("Emulator-only env") and skip.line == 2
    assert module_call_skip("module.other", "CKV_AWS_126", dirs, index) is None
    assert module_call_skip("module.host", "CKV_AWS_8", dirs, index) is None
    assert module_call_skip("", "CKV_AWS_126", dirs, index) is None
    # Nested: the call of the inner module inside the outer one is found through the chain.
    nested = {"": "env", "module.host": "env", "module.host.module.host": "mod"}
    assert module_call_skip("module.host.module.host", "CKV_AWS_126", nested, index) is not None
