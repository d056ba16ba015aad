"""The hosts' cloud-init (modules/postgres_host), rendered by Terraform's own templatefile(),
is valid cloud-config that only writes host.env and the bundle fetcher and runs it; and the
fetcher does what docs/hosts.md says: download with retries, check the hash before anything
is unpacked, unpack under the hash, point `current` at it, hand over to its bootstrap.

Rendering goes through a tiny root (no provider, nothing to plan against) so this stays a
fast unit test; tests/plan/test_postgres_host.py checks what the module renders at plan time.
The fetcher runs here for real, with a stand-in `aws` command on PATH and its paths moved into
a temporary directory. Validation uses `cloud-init schema` from the Debian package `cloud-init`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from clickstream import REPO_ROOT
from clickstream.terraform import Terraform

pytestmark = pytest.mark.unit

MODULE = REPO_ROOT / "modules/postgres_host"
TEMPLATE = MODULE / "templates/cloud-init.yaml.tftpl"
FETCH = MODULE / "files/clickstream-fetch-bundle"
SHA = "0f" * 32
#: host.env as the module builds it for each role (tests/plan checks the module's own values).
HOST_ENV = {
    "warehouse": {
        "ROLE": "warehouse", "NAME": "clickstream-dev", "REGION": "eu-central-1",
        "BUCKET": "clickstream-dev-artifacts-123456789012",
        "BUNDLE_KEY": f"dw/bundles/warehouse-{SHA}.tar.gz", "BUNDLE_SHA256": SHA,
        "BACKUP_PREFIX": "backups/dw/", "BACKUP_ENABLED": "true", "BACKUP_ON_CALENDAR": "*-*-* 03:15:00",
        "PASSWORD_PARAMETER": "/clickstream-dev/dw/dw_admin/password",
        "STATUS_PARAMETER": "/clickstream-dev/dw/bootstrap-status", "CA_PARAMETER": "/clickstream-dev/dw/tls-ca",
        "DATA_DEVICE": "/dev/sdf", "DB_NAME": "clickstream", "ADMIN_USER": "dw_admin",
        "DASHBOARD_USER": "shiny", "SHINY_PORT": "8080", "WORK_MEM_MB": "16", "MAX_CONNECTIONS": "100",
        "CLIENT_CIDRS": "10.20.64.0/24 10.20.65.0/24",
    },
}
HOST_ENV["oltp"] = {
    **HOST_ENV["warehouse"], "ROLE": "oltp", "BUNDLE_KEY": f"oltp/bundles/oltp-{SHA}.tar.gz",
    "BACKUP_PREFIX": "backups/oltp/", "PASSWORD_PARAMETER": "/clickstream-dev/oltp/shop_app/password",
    "STATUS_PARAMETER": "/clickstream-dev/oltp/bootstrap-status", "CA_PARAMETER": "/clickstream-dev/oltp/tls-ca",
    "DB_NAME": "shop", "ADMIN_USER": "shop_app", "DASHBOARD_USER": "", "SHINY_PORT": "", "CLIENT_CIDRS": "",
}
DOC_KEYS = re.findall(r"^ *\| `([A-Z0-9_]+)` \|", (REPO_ROOT / "docs/hosts.md").read_text(), re.M)
#: Hosts a booting host may name in a URL: S3 (through the Gateway endpoint), SSM endpoints and
#: itself. Anything else would need an internet route the private subnets do not have.
ALLOWED_HOST = re.compile(
    r"^(localhost|127\.0\.0\.1|([a-z0-9.-]+\.)?(s3|ssm|ssmmessages|ec2messages)[.-][a-z0-9.-]*amazonaws\.com)$"
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Both roles rendered in one terraform apply of a provider-less root."""
    root = tmp_path_factory.mktemp("render")
    blocks = []
    for role, env in HOST_ENV.items():
        args = {"role": role, "name": env["NAME"], "host_env": env}
        (root / f"{role}.json").write_text(json.dumps(args))
        render = (f'templatefile("{TEMPLATE}", merge(jsondecode(file("${{path.module}}/{role}.json")), '
                  f'{{ fetch_bundle = file("{FETCH}") }}))')
        blocks.append(f'output "{role}" {{\n  value = {render}\n}}\n')
    (root / "main.tf").write_text("terraform {\n  required_version = \">= 1.11.0\"\n}\n" + "".join(blocks))
    with Terraform(root, emulator_env=None) as tf:
        return tf.apply()


def _files(text: str) -> dict[str, dict]:
    return {f["path"]: f for f in yaml.safe_load(text)["write_files"]}


def test_test_inputs_match_what_the_module_passes() -> None:
    """The template arguments and host.env keys here are the module's, and the docs' table."""
    main = (MODULE / "main.tf").read_text()
    call = re.search(r"templatefile\([^{]*\{(.*?)\n  \}\)", main, re.S)
    assert call, "modules/postgres_host/main.tf renders no template"
    assert set(re.findall(r"^\s*([a-z_]+)\s*=", call.group(1), re.M)) == {"role", "name", "host_env", "fetch_bundle"}
    block = re.search(r"host_env = \{(.*?)\n  \}", main, re.S)
    keys = re.findall(r"^\s*([A-Z][A-Z0-9_]*)\s*=", block.group(1), re.M)
    assert sorted(keys) == sorted(DOC_KEYS) == sorted(HOST_ENV["warehouse"]) == sorted(HOST_ENV["oltp"])


@pytest.mark.parametrize("role", sorted(HOST_ENV))
def test_rendered_cloud_config_passes_cloud_init_schema(rendered: dict[str, str], role: str, tmp_path: Path) -> None:
    cloud_init = shutil.which("cloud-init")
    assert cloud_init, "`cloud-init` is missing: install the Debian package cloud-init (scripts/install_system_deps.sh)"
    path = tmp_path / "user-data.yaml"
    path.write_text(rendered[role])
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


@pytest.mark.parametrize("role", sorted(HOST_ENV))
def test_cloud_init_writes_host_env_and_the_fetcher_and_runs_it(rendered: dict[str, str], role: str) -> None:
    config = yaml.safe_load(rendered[role])
    files = _files(rendered[role])
    assert sorted(files) == ["/etc/clickstream/host.env", "/usr/local/sbin/clickstream-fetch-bundle"]
    assert config["runcmd"] == [["/usr/local/sbin/clickstream-fetch-bundle"]]
    fetch = files["/usr/local/sbin/clickstream-fetch-bundle"]
    assert (fetch["permissions"], fetch["owner"]) == ("0755", "root:root")
    assert fetch["content"] == FETCH.read_text()  # embedded byte for byte
    lines = [ln for ln in files["/etc/clickstream/host.env"]["content"].splitlines() if not ln.startswith("#")]
    assert lines == [f"{k}='{v}'" for k, v in sorted(HOST_ENV[role].items())]
    # Nothing of PostgreSQL's set-up is left in cloud-init: that is the bundle's bootstrap.
    for word in ("dnf ", "psql", "initdb", "postgresql-setup", "pip ", "systemctl"):
        assert word not in rendered[role], word


@pytest.mark.parametrize("role", sorted(HOST_ENV))
def test_host_env_is_shell_that_sources_to_the_same_values(rendered: dict[str, str], role: str, tmp_path: Path) -> None:
    path = tmp_path / "host.env"
    path.write_text(_files(rendered[role])["/etc/clickstream/host.env"]["content"])
    keys = sorted(HOST_ENV[role])
    script = f'set -eu; . "{path}"; ' + "; ".join(f'printf "%s\\0" "${k}"' for k in keys)
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout
    assert dict(zip(keys, out.split("\0")[:-1], strict=True)) == HOST_ENV[role]


@pytest.mark.parametrize("role", sorted(HOST_ENV))
def test_no_internet_url(rendered: dict[str, str], role: str) -> None:
    for url in re.findall(r"\b[a-z][a-z0-9+.-]*://[^\s'\"]+", rendered[role]):
        parts = urlsplit(url)
        if parts.scheme == "s3":
            assert parts.netloc in ("$BUCKET", HOST_ENV[role]["BUCKET"]), url
            continue
        assert parts.hostname and ALLOWED_HOST.match(parts.hostname), f"internet URL in {role} cloud-init: {url}"
    for forbidden in ("curl ", "wget ", "yum-config-manager", "dnf config-manager", "amazon-linux-extras",
                      "get-pip", "pypi.org", "github.com", "--index-url", "--extra-index-url"):
        assert forbidden not in rendered[role], f"{role}: {forbidden!r}"


def test_fetcher_parses() -> None:
    proc = subprocess.run(["bash", "-n", str(FETCH)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# -- the fetcher, run ------------------------------------------------------------------------


def _bundle(bootstrap: str) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, data, mode in (("bootstrap", bootstrap.encode(), 0o755), ("lib/x.sh", b"true\n", 0o644)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


class Host:
    """A host's paths in a temporary directory, and a stand-in `aws` that logs its calls."""

    def __init__(self, root: Path, bundle: bytes, *, sha256: str | None = None, failures: int = 0) -> None:
        self.root = root
        self.sha256 = sha256 or hashlib.sha256(bundle).hexdigest()
        self.home = root / "opt/clickstream"
        self.status = root / "var/lib/clickstream/bootstrap-status"
        self.calls = root / "aws-calls.log"
        (root / "s3").mkdir()
        (root / "s3/bundle.tar.gz").write_bytes(bundle)
        (root / "failures").write_text(str(failures))
        bin_dir = root / "bin"
        bin_dir.mkdir()
        aws = bin_dir / "aws"
        # `aws s3 cp s3://... <dest>` copies the stored bundle, failing the first N times;
        # `aws ssm put-parameter` only records itself.
        aws.write_text(f"""#!/bin/bash
echo "$*" >> "{self.calls}"
if [ "$1 $2" = "s3 cp" ]; then
  n=$(cat "{root}/failures")
  if [ "$n" -gt 0 ]; then echo $((n - 1)) > "{root}/failures"; echo "network down" >&2; exit 1; fi
  cp "{root}/s3/bundle.tar.gz" "${{@: -1}}"
fi
""")
        aws.chmod(0o755)
        self.env_file = root / "etc/clickstream/host.env"
        self.env_file.parent.mkdir(parents=True)
        env = {**HOST_ENV["warehouse"], "BUNDLE_SHA256": self.sha256,
               "BUNDLE_KEY": f"dw/bundles/warehouse-{self.sha256}.tar.gz"}
        self.env_file.write_text("".join(f"{k}='{v}'\n" for k, v in env.items()))

    def fetch(self) -> subprocess.CompletedProcess:
        env = {**os.environ, "PATH": f"{self.root / 'bin'}:{os.environ['PATH']}", "HOST_ENV": str(self.env_file),
               "CLICKSTREAM_HOME": str(self.home), "STATUS_FILE": str(self.status), "ATTEMPTS": "3",
               "RETRY_SECONDS": "0", "MARKER": str(self.root / "bootstrap-ran")}
        return subprocess.run(["bash", str(FETCH)], capture_output=True, text=True, env=env, timeout=60)

    def aws_calls(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


BOOTSTRAP = '#!/bin/bash\necho "$0" > "$MARKER"\n'


def test_fetcher_checks_unpacks_links_and_hands_over(tmp_path: Path) -> None:
    host = Host(tmp_path, _bundle(BOOTSTRAP))
    proc = host.fetch()
    assert proc.returncode == 0, proc.stderr
    dest = host.home / "bundles" / host.sha256
    assert (dest / "bootstrap").is_file() and (dest / "lib/x.sh").read_text() == "true\n"
    assert (host.home / "current").is_symlink() and (host.home / "current").resolve() == dest.resolve()
    assert (tmp_path / "bootstrap-ran").read_text() == f"{host.home}/current/bootstrap\n"
    assert not [p for p in (host.home / "bundles").iterdir() if p.name.startswith(".fetch")]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("clickstream-fetch-bundle: ") for ln in lines), lines
    [call] = host.aws_calls()
    assert re.fullmatch(
        rf"s3 cp --only-show-errors --region eu-central-1 s3://clickstream-dev-artifacts-123456789012/"
        rf"dw/bundles/warehouse-{host.sha256}\.tar\.gz {re.escape(str(host.home))}/bundles/\.fetch-\w+/bundle\.tar\.gz",
        call,
    ), call


def test_fetcher_refuses_a_bundle_whose_hash_differs(tmp_path: Path) -> None:
    host = Host(tmp_path, _bundle(BOOTSTRAP), sha256="ab" * 32)
    proc = host.fetch()
    assert proc.returncode == 1
    assert not (host.home / "bundles" / host.sha256).exists()
    assert not (host.home / "current").exists()
    assert not (tmp_path / "bootstrap-ran").exists()
    assert host.status.read_text().startswith("failed fetch: sha256 of s3://")
    put = [c for c in host.aws_calls() if c.startswith("ssm put-parameter")]
    assert put == [f"ssm put-parameter --region eu-central-1 --name /clickstream-dev/dw/bootstrap-status "
                   f"--type String --overwrite --value {host.status.read_text().strip()}"]
    assert "clickstream-fetch-bundle: failed fetch: sha256" in proc.stderr


def test_fetcher_retries_the_download(tmp_path: Path) -> None:
    host = Host(tmp_path, _bundle(BOOTSTRAP), failures=2)
    proc = host.fetch()
    assert proc.returncode == 0, proc.stderr
    assert [c.split()[:2] for c in host.aws_calls()] == [["s3", "cp"]] * 3
    assert proc.stderr.count("clickstream-fetch-bundle: download attempt") == 2


def test_fetcher_gives_up_and_says_so(tmp_path: Path) -> None:
    host = Host(tmp_path, _bundle(BOOTSTRAP), failures=5)
    proc = host.fetch()
    assert proc.returncode == 1
    assert host.status.read_text().startswith("failed fetch: could not download")
    assert len([c for c in host.aws_calls() if c.startswith("s3 cp")]) == 3


def test_fetcher_run_again_reuses_the_unpacked_bundle(tmp_path: Path) -> None:
    host = Host(tmp_path, _bundle(BOOTSTRAP))
    assert host.fetch().returncode == 0
    (tmp_path / "bootstrap-ran").unlink()
    proc = host.fetch()
    assert proc.returncode == 0, proc.stderr
    assert len(host.aws_calls()) == 1  # no second download
    assert (tmp_path / "bootstrap-ran").exists()
    assert "already unpacked" in proc.stderr


def test_fetcher_refuses_a_bundle_without_bootstrap(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("README")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    host = Host(tmp_path, raw.getvalue())
    proc = host.fetch()
    assert proc.returncode == 1
    assert host.status.read_text().strip() == "failed fetch: the bundle has no bootstrap"
    assert not (host.home / "bundles" / host.sha256).exists()


def test_fetcher_reports_a_host_env_without_region(tmp_path: Path) -> None:
    """A broken host.env is reported like any failure, not lost to `set -u`."""
    host = Host(tmp_path, _bundle(BOOTSTRAP))
    host.env_file.write_text("".join(ln + "\n" for ln in host.env_file.read_text().splitlines()
                                     if not ln.startswith("REGION=")))
    proc = host.fetch()
    assert proc.returncode == 1
    assert host.status.read_text().strip() == f"failed fetch: REGION is not set in {host.env_file}"
    assert "unbound variable" not in proc.stderr


def test_every_setting_the_bootstrap_requires_is_one_the_module_writes() -> None:
    """The bundle's bootstrap and backup read host.env: each key they insist on (`require`)
    or read with `$KEY` must be in the table the module renders, or a host would fail at boot
    on a setting nobody writes."""
    hosts = REPO_ROOT / "hosts"
    scripts = [*sorted((hosts / "lib").glob("*.sh")), hosts / "bootstrap", hosts / "backup"]
    text = "\n".join(p.read_text() for p in scripts)
    required = {k for line in re.findall(r"^\s*require ([A-Z0-9_ ]+)", text, re.M) for k in line.split()}
    assert {"ROLE", "NAME", "REGION", "DB_NAME", "ADMIN_USER", "DATA_DEVICE"} <= required
    assert required <= set(DOC_KEYS), required - set(DOC_KEYS)
    # Settings read directly (not through require) are either documented keys or the
    # bootstrap's own variables, which it assigns before use.
    assigned = set(re.findall(r"^\s*(?:local\s+)?([A-Z][A-Z0-9_]+)=", text, re.M))
    assigned |= {k for line in re.findall(r"^\s*local ([A-Za-z0-9_ =]+)$", text, re.M) for k in line.split()}
    used = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", text))
    builtin = {"BASH_SOURCE", "BASH_COMMAND", "LINENO", "HOME", "PATH", "CLICKSTREAM_HOST_ENV", "CLICKSTREAM_STATE",
               "RETRIES", "RETRY_SECONDS"}
    assert used - set(DOC_KEYS) - assigned - builtin == set()
