"""Each database host boots from its bundle, with no network, as the roles it really has.

For the warehouse and the OLTP host: the bundle that ``make host-bundle`` builds is unpacked
where cloud-init's fetch script puts it, and the container boots systemd with only loopback
(clickstream.testing.hostroot). A oneshot unit stands in for cloud-init's runcmd and runs
``/opt/clickstream/current/bootstrap``; moto inside the same namespace holds the SSM
parameters and the backup bucket. Then, from outside the container but inside its
namespace, the tests connect as the ETL does (verify-full against the CA the host published),
load generated traffic through the ETL's own code, and read the dashboards in Chromium. The
bootstrap then runs a second time (nothing may change), the backup runs once, and the host
reboots (its own re-bootstrap unit must converge again).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from clickstream import REPO_ROOT, dbmigrate
from clickstream.hostbundle import build_bundle
from clickstream.testing import hostroot

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

HERE = Path(__file__).parent
REGION = "eu-central-1"
SETTINGS = {
    "warehouse": {"DB_NAME": "clickstream", "ADMIN_USER": "dw_admin", "DASHBOARD_USER": "shiny",
                  "SHINY_PORT": "8080", "short": "dw", "migrations": "sql/dw"},
    "oltp": {"DB_NAME": "shop", "ADMIN_USER": "shop_app", "DASHBOARD_USER": "", "SHINY_PORT": "",
             "short": "oltp", "migrations": "sql/oltp"},
}


def _needs() -> None:
    missing = hostroot.missing_tools()
    if missing and os.environ.get("CI"):
        pytest.fail(f"CI must run the host bootstrap tests, but this machine lacks: {missing}")
    if missing:
        pytest.skip(f"booting a host root needs {missing} (scripts/install_system_deps.sh installs the tools)")


@dataclass
class Booted:
    """What one host's two boots left behind, for the tests to read."""

    role: str
    results: Path
    env: dict[str, str]
    host_side: dict[str, dict]
    boots: list[hostroot.BootResult]

    def text(self, name: str) -> str:
        path = self.results / name
        assert path.exists(), f"the driver wrote no {name}; boot output:\n{self.boots[-1].output[-4000:]}"
        return path.read_text()

    def kv(self, name: str) -> dict[str, str]:
        out = {}
        for line in self.text(name).splitlines():
            if "=" in line and not line.startswith("reader_write"):
                k, v = line.split("=", 1)
                out[k] = v
        return out


def host_env(role: str, sha256: str) -> dict[str, str]:
    s = SETTINGS[role]
    name = "clickstream-test"
    return {
        "ROLE": role, "NAME": name, "REGION": REGION, "BUCKET": f"{name}-artifacts",
        "BUNDLE_KEY": f"{s['short']}/bundles/{role}-{sha256}.tar.gz", "BUNDLE_SHA256": sha256,
        "BACKUP_PREFIX": f"backups/{s['short']}/", "BACKUP_ENABLED": "true", "BACKUP_ON_CALENDAR": "*-*-* 03:15:00",
        "PASSWORD_PARAMETER": f"/{name}/{s['short']}/{s['ADMIN_USER']}/password",
        "STATUS_PARAMETER": f"/{name}/{s['short']}/bootstrap-status", "CA_PARAMETER": f"/{name}/{s['short']}/tls-ca",
        "DATA_DEVICE": "/dev/sdf", "DB_NAME": s["DB_NAME"], "ADMIN_USER": s["ADMIN_USER"],
        "DASHBOARD_USER": s["DASHBOARD_USER"], "SHINY_PORT": s["SHINY_PORT"], "WORK_MEM_MB": "16",
        "MAX_CONNECTIONS": "50", "CLIENT_CIDRS": "10.20.64.0/24 10.20.65.0/24",
    }


def _client(host: hostroot.HostRoot, endpoint: str, *args: str) -> dict:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": REGION, "PYTHONPATH": f"{REPO_ROOT}:{REPO_ROOT / 'lambda_src'}"}
    proc = subprocess.run(host.in_netns(sys.executable, "-m", "tests.e2e.hosts.netns_client", *args),
                          capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=600)
    assert proc.returncode == 0, f"netns client {args[0]} failed:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout)


def _aws_profile(endpoint: str) -> tuple[str, str]:
    """The emulated account as a host sees it: a profile instead of the instance's IMDS role."""
    return (f"[default]\nregion = {REGION}\nendpoint_url = {endpoint}\n",
            "[default]\naws_access_key_id = test\naws_secret_access_key = test\n")


def boot_host(role: str, workdir: Path) -> Booted:
    bundle, sha256 = build_bundle(role)
    env = host_env(role, sha256)
    db_args = ["--ca-param", env["CA_PARAMETER"], "--password-param", env["PASSWORD_PARAMETER"],
               "--db", env["DB_NAME"], "--user", env["ADMIN_USER"]]
    host_side: dict[str, dict] = {}
    boots: list[hostroot.BootResult] = []
    with hostroot.host_root(workdir) as host:
        endpoint = host.start_moto(sys.executable)
        _client(host, endpoint, "seed", "--region", REGION, "--bucket", env["BUCKET"],
                "--password-param", env["PASSWORD_PARAMETER"], "--status-param", env["STATUS_PARAMETER"],
                "--ca-param", env["CA_PARAMETER"], "--password", secrets.token_hex(16))
        host.stage_bundle(bundle, sha256)
        host.write("/etc/clickstream/host.env", "".join(f"{k}='{v}'\n" for k, v in env.items()))
        config, credentials = _aws_profile(endpoint)
        for home in ("/root", "/var/lib/postgresql"):  # root runs the bootstrap, postgres the backup
            host.write(f"{home}/.aws/config", config)
            host.write(f"{home}/.aws/credentials", credentials, 0o644)
        host.enable_unit("clickstream-test-driver.service", (HERE / "driver.service").read_text())
        driver = host.results / "driver.sh"
        driver.write_text((HERE / "driver.sh").read_text())
        driver.chmod(0o755)

        (host.results / "phase").write_text("first\n")
        first: list[hostroot.BootResult] = []
        thread = threading.Thread(target=lambda: first.append(host.boot()), daemon=True)
        thread.start()
        deadline = time.monotonic() + 900
        while not (host.results / "ready1").exists() and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(1)
        try:
            if (host.results / "ready1").exists() and (host.results / "run1.rc").read_text().strip() == "0":
                host_side["status"] = _client(host, endpoint, "ssm-get", "--name", env["STATUS_PARAMETER"])
                host_side["ca"] = _client(host, endpoint, "ssm-get", "--name", env["CA_PARAMETER"])
                host_side["migrations"] = _client(host, endpoint, "sql", *db_args, "--query",
                                                  "SELECT migration_id FROM _yoyo_migration ORDER BY 1")
                host_side["definitions"] = _client(host, endpoint, "sql", *db_args, "--query",
                                                   "SELECT digest FROM _sql_definitions ORDER BY id")
                if role == "warehouse":
                    _client(host, endpoint, "load", *db_args)
                    host_side["dashboards"] = _client(host, endpoint, "dashboards", *db_args,
                                                      "--url", f"http://127.0.0.1:{env['SHINY_PORT']}/")
        finally:
            (host.results / "go2").touch()
            thread.join(timeout=900)
        boots += first
        if (host.results / "run2.rc").exists():
            host_side["ca_after_second_run"] = _client(host, endpoint, "ssm-get", "--name", env["CA_PARAMETER"])
            host_side["backups"] = _client(host, endpoint, "s3-list", "--bucket", env["BUCKET"],
                                           "--prefix", env["BACKUP_PREFIX"])
            (host.results / "phase").write_text("reboot\n")
            boots.append(host.boot())
            host_side["status_after_reboot"] = _client(host, endpoint, "ssm-get", "--name", env["STATUS_PARAMETER"])
    return Booted(role, host.results, env, host_side, boots)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Booted:
    _needs()
    return boot_host("warehouse", tmp_path_factory.mktemp("host-warehouse"))


@pytest.fixture(scope="module")
def oltp(tmp_path_factory: pytest.TempPathFactory) -> Booted:
    _needs()
    return boot_host("oltp", tmp_path_factory.mktemp("host-oltp"))


@pytest.fixture(params=["warehouse", "oltp"])
def booted(request: pytest.FixtureRequest) -> Booted:
    """Both hosts: every test taking it runs once per host."""
    return request.getfixturevalue(request.param)


def test_first_boot_runs_the_bundle_to_ready(booted: Booted) -> None:
    log = booted.text("run1.log")
    assert booted.text("run1.rc").strip() == "0", log[-4000:]
    sha = booted.env["BUNDLE_SHA256"]
    assert booted.kv("checks1")["status"] == f"ready {sha}"
    assert booted.host_side["status"]["value"] == f"ready {sha}"
    # The only replaced step was called once, with the AL2023 package names.
    assert booted.kv("checks1")["dnf_calls"] == "1"


def test_postgres_serves_tls_that_the_published_ca_verifies(booted: Booted) -> None:
    ca = booted.host_side["ca"]["value"]
    assert ca.startswith("-----BEGIN CERTIFICATE-----")
    assert booted.kv("checks1")["ssl"] == "on"
    mig = booted.host_side["migrations"]
    assert mig["ssl"] is True and mig["user"] == booted.env["ADMIN_USER"]  # sslmode=verify-full, as the ETL


def test_every_migration_applied_as_the_non_superuser_owner(booted: Booted) -> None:
    files = sorted(p.stem for p in (REPO_ROOT / SETTINGS[booted.role]["migrations"]).glob("*.sql")
                   if not p.name.endswith(".rollback.sql"))
    applied = [r[0] for r in booted.host_side["migrations"]["rows"]]
    assert applied == files
    # The definitions (functions, triggers, views) of the repository, applied once.
    wanted = dbmigrate.digest(dbmigrate.read_definitions(REPO_ROOT / SETTINGS[booted.role]["migrations"]))
    assert [r[0] for r in booted.host_side["definitions"]["rows"]] == [wanted]
    checks = booted.kv("checks1")
    assert checks["owner_is_superuser"] == "f"
    assert checks["migration_owner"] == booted.env["ADMIN_USER"]  # every relation, none left to postgres


def test_the_dashboards_login_cannot_write(warehouse: Booted) -> None:
    booted = warehouse
    writes = [ln for ln in booted.text("checks1").splitlines() if ln.startswith("reader_write")]
    assert len(writes) == 4
    for line in writes:
        assert "rc=0" not in line, line
        assert "permission denied" in line or "read-only transaction" in line, line
    assert booted.kv("checks1")["reader_read"] == "t"


def test_the_dashboards_show_the_rollups_on_loopback(warehouse: Booted) -> None:
    booted = warehouse
    assert booted.kv("checks1")["shiny"] == "active"
    dash = booted.host_side["dashboards"]
    assert float(dash["want"]["sessions"]) > 0
    assert dash["got"] == dash["want"]


def test_backup_timer_installed_and_a_backup_lands_in_the_bucket(booted: Booted) -> None:
    checks = booted.kv("checks1")
    assert checks["backup_timer"] == "enabled/active"
    assert checks["backup_next"] not in ("", "0")
    assert booted.text("backup.rc").strip() == "0", booted.text("backup.log")[-3000:]
    dumps = booted.host_side["backups"]["objects"]
    assert len(dumps) == 1 and dumps[0]["key"].endswith(".dump") and dumps[0]["size"] > 1000


def test_a_second_run_changes_nothing(booted: Booted) -> None:
    assert booted.text("run2.rc").strip() == "0", booted.text("run2.log")[-4000:]
    fingerprint = booted.text("fp1")
    assert "ERROR" not in fingerprint and "No such file" not in fingerprint.split("## units")[0], fingerprint
    assert f"{booted.env['ADMIN_USER']}|f|f|f|t|SCRAM-SHA-256$" in fingerprint  # owner: login, nothing more
    assert booted.text("fp2") == fingerprint
    assert booted.text("rt2") == booted.text("rt1")  # no restart, no rebuilt venv
    assert booted.host_side["ca_after_second_run"]["version"] == booted.host_side["ca"]["version"]


def test_a_reboot_converges_through_the_hosts_own_unit(booted: Booted) -> None:
    assert booted.text("reboot.state").strip() == "active", booted.text("reboot.log")[-4000:]
    assert booted.text("fp3") == booted.text("fp1")
    sha = booted.env["BUNDLE_SHA256"]
    assert booted.kv("checks3")["status"] == f"ready {sha}"
    assert booted.host_side["status_after_reboot"]["value"] == f"ready {sha}"
    if booted.role == "warehouse":
        assert booted.kv("checks3")["shiny"] == "active"
