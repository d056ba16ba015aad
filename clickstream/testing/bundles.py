"""Stand-in host bundles for plans and emulator applies.

A plan only carries a bundle's key and hash, and the emulator never boots an instance, so what
is inside does not matter there: these bundles are small, deterministic tarballs whose
``bootstrap`` refuses to run. Real bundles come from ``make host-bundle`` (docs/hosts.md);
nothing here stands in for them on a real host.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

ROLES = ("warehouse", "oltp")

_BOOTSTRAP = b"""#!/bin/bash
echo "clickstream-bootstrap: this is a placeholder bundle for plans and emulator tests" >&2
exit 1
"""


def placeholder_bundle(directory: Path, role: str) -> dict[str, str]:
    """Write ``<directory>/<role>.tar.gz`` and its ``.sha256``; return ``{"path", "sha256"}``.

    The same role gives the same bytes (fixed owners, modes and times, gzip without a name or
    time), so plans that use it are repeatable. The two roles differ, as real bundles do.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    files = {
        "bootstrap": (_BOOTSTRAP, 0o755),
        "MANIFEST.json": (f'{{"role": "{role}", "placeholder": true}}\n'.encode(), 0o644),
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, (data, mode) in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime, info.uid, info.gid = len(data), mode, 0, 0, 0
            tar.addfile(info, io.BytesIO(data))
    data = gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{role}.tar.gz"
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    path.with_name(path.name + ".sha256").write_text(digest + "\n")
    return {"path": str(path), "sha256": digest}


def placeholder_bundles(directory: Path) -> dict[str, dict[str, str]]:
    """Both roles' placeholder bundles, as envs/* take them (``host_bundles``)."""
    return {role: placeholder_bundle(directory, role) for role in ROLES}
