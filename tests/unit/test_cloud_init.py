"""The hosts' cloud-init, rendered by Terraform's own templatefile(), is valid cloud-config,
boots without the internet, and its embedded shell scripts parse.

Rendering goes through a tiny root (no provider, nothing to plan against) so this stays a
fast unit test; the plan tests separately check that each module renders it at plan time.
Validation uses `cloud-init schema` from the Debian package `cloud-init`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from clickstream import REPO_ROOT
from clickstream.terraform import Terraform

pytestmark = pytest.mark.unit

TEMPLATES = {
    "warehouse": REPO_ROOT / "modules/warehouse/templates/cloud-init.yaml.tftpl",
    "oltp": REPO_ROOT / "modules/oltp/templates/cloud-init.yaml.tftpl",
}
COMMON = {
    "name": "clickstream-dev",
    "region": "eu-central-1",
    "bucket": "clickstream-dev-artifacts",
    "backup_enabled": True,
    "backup_on_calendar": "*-*-* 03:15:00",
    "revision": "0f" * 32,
    "data_device": "/dev/sdf",
    "work_mem_mib": 16,
    "max_connections": 100,
    "client_cidrs": ["10.20.64.0/24", "10.20.65.0/24"],
    "python": "python3.11",
}
VARS = {
    "warehouse": {
        **COMMON,
        "prefix": "dw/",
        "backup_prefix": "backups/dw/",
        "password_parameter": "/clickstream-dev/dw/dw_admin/password",
        "db_name": "clickstream",
        "admin_user": "dw_admin",
        "dashboard_user": "shiny",
        "shiny_port": 8080,
        "shiny_app_file": "app.py",
    },
    "oltp": {
        **COMMON,
        "prefix": "oltp/",
        "backup_prefix": "backups/oltp/",
        "password_parameter": "/clickstream-dev/oltp/shop_app/password",
        "db_name": "shop",
        "admin_user": "shop_app",
    },
}
#: Hosts a booting host may name in a URL: S3 (through the Gateway endpoint), SSM endpoints and
#: itself. Anything else would need an internet route the private subnets do not have.
ALLOWED_HOST = re.compile(
    r"^(localhost|127\.0\.0\.1|([a-z0-9.-]+\.)?(s3|ssm|ssmmessages|ec2messages)[.-][a-z0-9.-]*amazonaws\.com)$"
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Both templates rendered in one terraform apply of a provider-less root."""
    root = tmp_path_factory.mktemp("render")
    blocks = []
    for host, template in TEMPLATES.items():
        (root / f"{host}.json").write_text(json.dumps(VARS[host]))
        render = f'templatefile("{template}", jsondecode(file("${{path.module}}/{host}.json")))'
        blocks.append(f'output "{host}" {{\n  value = {render}\n}}\n')
    (root / "main.tf").write_text("terraform {\n  required_version = \">= 1.11.0\"\n}\n" + "".join(blocks))
    with Terraform(root, emulator_env=None) as tf:
        return tf.apply()


def _template_vars_in_module(host: str) -> set[str]:
    """Names the module passes to templatefile(), read from its main.tf."""
    main = (REPO_ROOT / f"modules/{host}/main.tf").read_text()
    call = re.search(r"templatefile\([^{]*\{(.*?)\n  \}\)", main, re.S)
    assert call, f"modules/{host}/main.tf renders no template"
    return set(re.findall(r"^\s*([a-z_]+)\s*=", call.group(1), re.M))


@pytest.mark.parametrize("host", sorted(TEMPLATES))
def test_test_inputs_match_what_the_module_passes(host: str) -> None:
    assert _template_vars_in_module(host) == set(VARS[host])


@pytest.mark.parametrize("host", sorted(TEMPLATES))
def test_rendered_cloud_config_passes_cloud_init_schema(rendered: dict[str, str], host: str, tmp_path: Path) -> None:
    cloud_init = shutil.which("cloud-init")
    assert cloud_init, "`cloud-init` is missing: install the Debian package cloud-init (scripts/install_system_deps.sh)"
    path = tmp_path / "user-data.yaml"
    path.write_text(rendered[host])
    proc = subprocess.run([cloud_init, "schema", "--config-file", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Valid" in proc.stdout


def test_schema_check_can_fail(tmp_path: Path) -> None:
    """The validator really rejects a broken cloud-config (so the test above can fail)."""
    cloud_init = shutil.which("cloud-init")
    assert cloud_init, "`cloud-init` is missing: install the Debian package cloud-init"
    path = tmp_path / "bad.yaml"
    path.write_text("#cloud-config\nwrite_files:\n  - path: 42\n    permissions: [1]\nruncmd: 7\n")
    proc = subprocess.run([cloud_init, "schema", "--config-file", str(path)], capture_output=True, text=True)
    assert proc.returncode != 0


@pytest.mark.parametrize("host", sorted(TEMPLATES))
def test_no_internet_url(rendered: dict[str, str], host: str) -> None:
    urls = re.findall(r"\b[a-z][a-z0-9+.-]*://[^\s'\"]+", rendered[host])
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme == "s3":
            assert parts.netloc in ("$BUCKET", VARS[host]["bucket"]), url
            continue
        if parts.scheme.startswith("postgresql"):
            assert parts.hostname in (None, "127.0.0.1", "localhost"), url
            continue
        assert parts.hostname and ALLOWED_HOST.match(parts.hostname), f"internet URL in {host} cloud-init: {url}"
    # No package source other than the distribution's own repositories, no fetches from the web.
    text = rendered[host]
    forbidden_words = ("curl ", "wget ", "yum-config-manager", "dnf config-manager", "amazon-linux-extras",
                       "get-pip", "pypi.org", "github.com", "--index-url", "--extra-index-url")
    for forbidden in forbidden_words:
        assert forbidden not in text, f"{host}: {forbidden!r}"
    assert "--no-index" in text and "--find-links" in text


@pytest.mark.parametrize("host", sorted(TEMPLATES))
def test_embedded_shell_scripts_parse(rendered: dict[str, str], host: str, tmp_path: Path) -> None:
    config = yaml.safe_load(rendered[host])
    scripts = [f for f in config["write_files"] if f["content"].startswith("#!/bin/bash")]
    assert len(scripts) == 2  # bootstrap + backup
    for f in scripts:
        path = tmp_path / Path(f["path"]).name
        path.write_text(f["content"])
        proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, f"{f['path']}: {proc.stderr}"
    assert config["runcmd"] == [[scripts[0]["path"]]]


def test_warehouse_specifics(rendered: dict[str, str]) -> None:
    config = yaml.safe_load(rendered["warehouse"])
    files = {f["path"]: f["content"] for f in config["write_files"]}
    unit = files["/etc/systemd/system/clickstream-shiny.service"]
    assert "--host 127.0.0.1 --port 8080" in unit and "User=shiny" in unit
    assert "OnCalendar=*-*-* 03:15:00" in files["/etc/systemd/system/clickstream-pg-backup.timer"]
    boot = files["/usr/local/sbin/clickstream-dw-bootstrap"]
    assert "dnf install -y -q postgresql15-server" in boot
    assert "ssl = on" in boot and "openssl req -x509" in boot
    assert "\\getenv pw DW_PASSWORD" in boot  # the password never appears on a command line
    assert "hostssl all  $ADMIN_USER  $cidr  scram-sha-256" in boot
    assert "CLIENT_CIDRS='10.20.64.0/24 10.20.65.0/24'" in files["/etc/clickstream/dw.conf"]
    assert "yoyo\" apply --batch" in boot
    assert "aws s3 cp - \"s3://$BUCKET/$key\"" in files["/usr/local/sbin/clickstream-pg-backup"]


def test_oltp_has_no_dashboard(rendered: dict[str, str]) -> None:
    text = rendered["oltp"]
    assert "shiny" not in text.lower()
    assert "PASSWORD_PARAMETER='/clickstream-dev/oltp/shop_app/password'" in text
