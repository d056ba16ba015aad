#!/usr/bin/env bash
# Install the system packages the project needs when they are missing (Debian/Ubuntu, as root).
# Not root or not apt: print what to install and carry on; `make check` then says what is missing.
set -euo pipefail

need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql postgresql-contrib)
command -v chromium >/dev/null || need+=(chromium chromium-driver)
command -v node >/dev/null || need+=(nodejs)
command -v runuser >/dev/null || need+=(util-linux)
command -v cloud-init >/dev/null || need+=(cloud-init)
# The host bootstrap test boots each bundle in an isolated root (clickstream/testing/hostroot.py).
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v losetup >/dev/null || need+=(mount)
command -v ip >/dev/null || need+=(iproute2)

if [ ${#need[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "system packages missing: ${need[*]}"
  echo "install them with your package manager (Debian/Ubuntu: sudo apt-get install ${need[*]})"
  exit 0
fi
echo "installing system packages: ${need[*]} ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The Debian postgresql package starts a cluster on 5432; the harness runs its own servers.
if command -v pg_ctlcluster >/dev/null; then
  for c in $(pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2}'); do pg_ctlcluster ${c/\// } stop || true; done
fi
echo "system packages installed"
