"""moto's server with one documented deviation: conditional bucket-policy statements.

moto evaluates an S3 bucket policy with no request context, so every ``Condition`` holds
(``aws:SecureTransport`` is never known, a ``Null`` test on an encryption header is always
true). A TLS-only or deny-unencrypted-uploads statement — which every bucket of this
platform has, on purpose — then denies *every* request, and nothing could be written to or
read from the buckets in the emulator.

We would rather keep the policies than weaken them for local runs, so the harness leaves
conditional statements out of moto's evaluation: they are checked where they can be, by the
plan tests (statement by statement) and checkov (CKV_CS_7), and by AWS itself. Unconditional
statements are still enforced by moto.

``python -m clickstream.moto_server -p 5000`` runs moto's own server CLI with this applied;
the embedded and out-of-process emulators of the harness use it too.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

_PATCHED = False


def _without_conditional_statements(policy: bytes | str) -> str:
    doc = json.loads(policy)
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    doc["Statement"] = [s for s in statements if not s.get("Condition")]
    return json.dumps(doc)


def patch_moto() -> None:
    """Make moto's bucket-policy check skip statements it cannot evaluate (idempotent)."""
    global _PATCHED
    if _PATCHED:
        return
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        return IAMPolicy(_without_conditional_statements(self.policy)).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
    _PATCHED = True


def main(argv: list[str] | None = None) -> None:
    # The hosts attach AmazonSSMManagedInstanceCore, which moto only knows with this set.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    patch_moto()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
