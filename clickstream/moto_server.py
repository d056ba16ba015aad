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

One addition: Lambda's ``GetAccountSettings``, which moto does not implement (it answers 404
"Not yet implemented"), so ``make preflight`` can read an emulated account's concurrency
quota. It reports moto's own documented quota setting, ``MOTO_LAMBDA_CONCURRENCY_QUOTA`` (the
variable moto's PutFunctionConcurrency enforces; AWS's default of 1000 when unset, as moto
assumes), and subtracts the reservations of the functions moto holds, as AWS does. Setting the
variable to 10 emulates a new account.

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


#: AWS's default Lambda concurrency quota, which moto assumes when its variable is unset.
DEFAULT_LAMBDA_CONCURRENCY_QUOTA = 1000
LAMBDA_QUOTA_VARIABLE = "MOTO_LAMBDA_CONCURRENCY_QUOTA"


def lambda_account_settings(reservations: list[int], environ: Any = None) -> dict[str, Any]:
    """The GetAccountSettings body for an account whose functions reserve ``reservations``."""
    environ = os.environ if environ is None else environ
    quota = int(environ.get(LAMBDA_QUOTA_VARIABLE) or DEFAULT_LAMBDA_CONCURRENCY_QUOTA)
    return {
        "AccountLimit": {
            "TotalCodeSize": 80530636800,
            "CodeSizeUnzipped": 262144000,
            "CodeSizeZipped": 52428800,
            "ConcurrentExecutions": quota,
            "UnreservedConcurrentExecutions": quota - sum(reservations),
        },
        "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": len(reservations)},
    }


def _patch_lambda_account_settings() -> None:
    """Route GET /2016-08-19/account-settings/ to a handler built on moto's quota variable."""
    from moto.awslambda import urls
    from moto.awslambda.responses import LambdaResponse

    def get_account_settings(self: LambdaResponse) -> Any:
        functions = list(self.backend.list_functions())
        reserved = [int(fn.reserved_concurrency) for fn in functions if fn.reserved_concurrency]
        body = lambda_account_settings(reserved)
        body["AccountUsage"]["FunctionCount"] = len(functions)
        return 200, {}, json.dumps(body)

    LambdaResponse.get_account_settings = get_account_settings  # type: ignore[attr-defined]
    urls.url_paths.setdefault(r"{0}/(?P<api_version>[^/]+)/account-settings/?$", LambdaResponse.dispatch)


def patch_moto() -> None:
    """Make moto's bucket-policy check skip statements it cannot evaluate, and add Lambda's
    GetAccountSettings (idempotent)."""
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
    _patch_lambda_account_settings()
    _PATCHED = True


def main(argv: list[str] | None = None) -> None:
    # The hosts attach AmazonSSMManagedInstanceCore, which moto only knows with this set.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    patch_moto()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
