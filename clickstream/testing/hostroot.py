"""An isolated root to boot a database host's bundle in, with no network but loopback.

The emulator cannot see inside an EC2 instance, so the host bootstrap is tested by booting
it: a Debian bookworm root (made once with ``debootstrap`` and cached under
``.cache/hostroot``) runs systemd as PID 1 under ``systemd-nspawn``, inside a network
namespace that has only ``lo``. The bundle is unpacked where cloud-init's fetch script puts
it, ``/etc/clickstream/host.env`` is what cloud-init writes, the data volume is a loop
device at ``/dev/sdf``, and the AWS side (the SSM parameters, the backup bucket) is moto,
started inside the same namespace on 127.0.0.1. Nothing else is provided: PostgreSQL's
configuration, TLS, roles, migrations, the venv and every unit come from the bundle.

The one replaced step is the package install: the image already carries Debian's builds of
what the bootstrap asks dnf for, and ``/usr/local/sbin/dnf`` in the image checks that each
requested Amazon Linux 2023 package name maps to a program present, and does nothing else.

Why Debian for an Amazon Linux host: the AL2023 repositories are not reachable from here,
and the bootstrap depends only on what both share (bash, systemd, util-linux, xfsprogs,
OpenSSL 3, PostgreSQL 15, CPython 3.11 with glibc >= 2.28 for the manylinux wheels); the one
layout difference, where the PostgreSQL binaries live, is looked up by the bootstrap.

Needs root, ``debootstrap``, ``systemd-nspawn`` (Debian ``systemd-container``), ``ip`` and
``losetup``: ``scripts/install_system_deps.sh`` installs them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from clickstream import REPO_ROOT

CACHE = REPO_ROOT / ".cache" / "hostroot"
#: Debian packages of the image: what an AL2023 host gets from its AMI plus the dnf step.
PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "postgresql-15", "python3.11", "python3-venv", "openssl",
    "xfsprogs", "iproute2", "ca-certificates", "util-linux", "procps",
)
SUITE = "bookworm"
#: AL2023 package names the bootstrap installs, and a file each must provide in the image.
DNF_PROVIDES = {
    "postgresql15-server": "/usr/lib/postgresql/15/bin/postgres",
    "postgresql15-contrib": "/usr/share/postgresql/15/extension/pg_stat_statements.control",
    "python3.11": "/usr/bin/python3.11",
    "openssl": "/usr/bin/openssl",
    "xfsprogs": "/usr/sbin/mkfs.xfs",
    "util-linux": "/usr/bin/mount",
}
_PREP_VERSION = "3"  # bump when the preparation below changes, so cached images are rebuilt


class HostRootError(RuntimeError):
    """The isolated root could not be made or booted."""


def missing_tools() -> list[str]:
    """What this machine lacks to boot a host root (empty when it can)."""
    missing = [t for t in ("debootstrap", "systemd-nspawn", "ip", "losetup", "mount") if not shutil.which(t)]
    if os.geteuid() != 0:
        missing.append("root (nspawn, loop devices and network namespaces need it)")
    return missing


def _run(cmd: list[str], what: str, timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if proc.returncode != 0:
        raise HostRootError(f"{what} failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-3000:]}")
    return proc


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (so the image comes from where apt does)."""
    explicit = os.environ.get("CLICKSTREAM_DEBIAN_MIRROR")
    if explicit:
        return explicit
    sources = [*sorted(Path("/etc/apt").glob("sources.list.d/*.sources")), Path("/etc/apt/sources.list")]
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        uris = re.findall(r"^URIs:\s*(\S+)", text, re.M)
        uris += re.findall(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s", text, re.M)
        for uri in uris:
            if "security" not in uri and re.search(r"/debian/?$", uri):
                return uri
    raise HostRootError("no Debian mirror found in /etc/apt; set CLICKSTREAM_DEBIAN_MIRROR")


def _dnf_shim() -> str:
    cases = "\n".join(f'    {name}) want={path} ;;' for name, path in sorted(DNF_PROVIDES.items()))
    return f"""#!/bin/sh
# Test-root stand-in for dnf: the one bootstrap step the host test replaces. The image already
# holds Debian's builds of these Amazon Linux 2023 packages; this checks that each requested
# package maps to a file that is present, records the call, and installs nothing.
[ "$1" = install ] || {{ echo "dnf shim: only 'install' is supported" >&2; exit 2; }}
shift
echo "dnf $*" >> /var/log/dnf-shim.log
for pkg in "$@"; do
  case "$pkg" in
    -*) continue ;;
{cases}
    *) echo "dnf shim: no stand-in for package $pkg" >&2; exit 1 ;;
  esac
  [ -e "$want" ] || {{ echo "dnf shim: $pkg: $want missing from the test image" >&2; exit 1; }}
done
"""


def image_key() -> str:
    return hashlib.sha256("\n".join([SUITE, *PACKAGES, _dnf_shim(), _PREP_VERSION]).encode()).hexdigest()[:16]


def ensure_image(log=print) -> Path:
    """The prepared root (made once per package list; a lock keeps parallel workers apart)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    root = CACHE / image_key()
    done = root / ".prepared"
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return root / "rootfs"
        shutil.rmtree(root, ignore_errors=True)
        rootfs = root / "rootfs"
        rootfs.parent.mkdir(parents=True)
        log(f"making the host test root with debootstrap ({SUITE}, {len(PACKAGES)} packages) ...")
        _run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(rootfs),
              debian_mirror()], "debootstrap of the host test root", timeout=1500)
        _prepare(rootfs)
        done.write_text(image_key() + "\n")
        return rootfs


def _prepare(rootfs: Path) -> None:
    """Make the Debian root look like a fresh AL2023 instance before its first boot."""
    # Debian's package makes and starts a cluster of its own; an AL2023 host has none.
    for p in ("var/lib/postgresql/15/main", "etc/postgresql/15/main"):
        shutil.rmtree(rootfs / p, ignore_errors=True)
    _run(["systemctl", f"--root={rootfs}", "disable", "postgresql.service"], "disabling Debian's postgresql unit")
    _run(["systemctl", f"--root={rootfs}", "mask", "systemd-networkd-wait-online.service", "getty@.service",
          "console-getty.service"], "masking units a container does not need")
    shim = rootfs / "usr/local/sbin/dnf"
    shim.parent.mkdir(parents=True, exist_ok=True)
    shim.write_text(_dnf_shim())
    shim.chmod(0o755)
    (rootfs / "etc/machine-id").write_text("")
    (rootfs / "etc/hostname").write_text("ip-127-0-0-1\n")


@dataclass
class BootResult:
    """One boot of the container: its exit code and what it printed."""

    returncode: int
    output: str


@dataclass
class HostRoot:
    """One host under test: an overlay of the image, a data volume, a namespace, moto."""

    image: Path
    workdir: Path
    netns: str = field(default_factory=lambda: f"cshost-{uuid.uuid4().hex[:8]}")
    moto_port: int = 5000
    loop: str = ""
    _moto: subprocess.Popen | None = None
    _mounted: bool = False

    @property
    def rootfs(self) -> Path:
        return self.workdir / "merged"

    @property
    def results(self) -> Path:
        return self.workdir / "results"

    def start(self, disk_gib: int = 2) -> None:
        for d in ("upper", "work", "merged", "results"):
            (self.workdir / d).mkdir(parents=True, exist_ok=True)
        _run(["mount", "-t", "overlay", "overlay", "-o",
              f"lowerdir={self.image},upperdir={self.workdir / 'upper'},workdir={self.workdir / 'work'}",
              str(self.rootfs)], "mounting the overlay root")
        self._mounted = True
        disk = self.workdir / "data-volume.img"
        with open(disk, "wb") as f:
            f.truncate(disk_gib << 30)
        self.loop = _run(["losetup", "--find", "--show", str(disk)], "attaching the data volume").stdout.strip()
        _run(["ip", "netns", "add", self.netns], "creating the network namespace")
        _run(["ip", "-n", self.netns, "link", "set", "lo", "up"], "bringing up loopback")

    def in_netns(self, *cmd: str) -> list[str]:
        """``cmd`` run inside the host's namespace (only loopback: the host's own view)."""
        return ["ip", "netns", "exec", self.netns, *cmd]

    def start_moto(self, python: str) -> str:
        log = open(self.workdir / "moto.log", "w")  # noqa: SIM115 - closed with the process
        self._moto = subprocess.Popen(
            self.in_netns(python, "-m", "clickstream.moto_server", "-H", "127.0.0.1", "-p", str(self.moto_port)),
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT, start_new_session=True)
        endpoint = f"http://127.0.0.1:{self.moto_port}"
        deadline = time.monotonic() + 60
        probe = ("import socket,sys; s=socket.socket(); s.settimeout(1); "
                 f"sys.exit(s.connect_ex(('127.0.0.1', {self.moto_port})))")
        while time.monotonic() < deadline:
            if subprocess.run(self.in_netns(python, "-c", probe), capture_output=True).returncode == 0:
                return endpoint
            if self._moto.poll() is not None:
                raise HostRootError(f"moto exited: {(self.workdir / 'moto.log').read_text()[-2000:]}")
            time.sleep(0.5)
        raise HostRootError("moto did not listen inside the namespace within 60 s")

    def stage_bundle(self, bundle: Path, sha256: str) -> None:
        """Unpack ``bundle`` exactly where cloud-init's fetch script does, and link it."""
        dest = self.rootfs / "opt/clickstream/bundles" / sha256
        dest.mkdir(parents=True)
        with tarfile.open(bundle) as tar:
            tar.extractall(dest, filter="data")  # our own bundle, and the data filter
        current = self.rootfs / "opt/clickstream/current"
        current.symlink_to(f"/opt/clickstream/bundles/{sha256}")

    def write(self, path: str, text: str, mode: int = 0o644) -> None:
        target = self.rootfs / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        target.chmod(mode)

    def enable_unit(self, name: str, text: str) -> None:
        self.write(f"/etc/systemd/system/{name}", text)
        wants = self.rootfs / "etc/systemd/system/multi-user.target.wants"
        wants.mkdir(parents=True, exist_ok=True)
        link = wants / name
        if not link.is_symlink():
            link.symlink_to(f"/etc/systemd/system/{name}")

    def boot(self, timeout: float = 900) -> BootResult:
        """Boot the container until it powers itself off (the driver unit does)."""
        cmd = ["systemd-nspawn", "--quiet", "--directory", str(self.rootfs), "--boot", "--console=pipe",
               "--register=no", "--keep-unit", f"--network-namespace-path=/run/netns/{self.netns}",
               f"--bind={self.loop}:/dev/sdf", f"--bind={self.results}:/results",
               f"--machine={self.netns}"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            raise HostRootError(f"the host did not power off within {timeout} s: {out[-3000:]}") from exc
        return BootResult(proc.returncode, proc.stdout + proc.stderr)

    def stop(self) -> None:
        if self._moto is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._moto.pid, 15)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._moto.wait(timeout=10)
            self._moto = None
        subprocess.run(["ip", "netns", "delete", self.netns], capture_output=True)
        if self._mounted:
            subprocess.run(["umount", "--lazy", str(self.rootfs)], capture_output=True)
            self._mounted = False
        if self.loop:
            subprocess.run(["losetup", "--detach", self.loop], capture_output=True)
            self.loop = ""


@contextlib.contextmanager
def host_root(workdir: Path, log=print) -> Iterator[HostRoot]:
    """A started :class:`HostRoot` that is torn down (namespace, loop device, mounts) after."""
    host = HostRoot(ensure_image(log), workdir)
    try:
        host.start()
        yield host
    finally:
        host.stop()
