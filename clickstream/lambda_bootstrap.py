"""Worker that runs one Lambda handler the way the Lambda runtime does (stdlib only).

Started by :mod:`clickstream.lambda_runner` with the function's runtime interpreter
(python3.12), ``LAMBDA_TASK_ROOT`` (the unpacked deployment zip) first on ``sys.path`` and the
runtime's own libraries (boto3) after it, as in ``/var/task`` and ``/var/runtime``. It imports
the handler once (a warm container) and then answers one JSON request per line on the
protocol pipe; the handler's own prints and logs go to stderr like CloudWatch Logs.
"""

import importlib
import json
import os
import sys
import time
import traceback


class Context:
    """The attributes and method of the Lambda context object that handlers use."""

    def __init__(self, request: dict) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = request.get("invoked_function_arn", "")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = request["request_id"]
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + request["timeout_ms"] / 1000.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> None:
    # Run as a script, Python puts this file's folder (the harness package) first on sys.path,
    # where a module could shadow the standard library for the handler (e.g. a `platform.py`
    # hiding stdlib `platform` from botocore). The Lambda runtime has no such folder.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    proto_out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # handler prints go to the log stream
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path[:0] = [task_root]
    module_name, _, func_name = os.environ["_HANDLER"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), func_name)
        proto_out.write(json.dumps({"ready": True}) + "\n")
    except Exception as exc:  # Runtime.ImportModuleError: reported, then the worker exits
        proto_out.write(json.dumps({"ready": False, "errorType": type(exc).__name__,
                                    "errorMessage": str(exc), "stackTrace": traceback.format_exc()}) + "\n")
        return
    for line in sys.stdin:
        request = json.loads(line)
        try:
            result = handler(request["event"], Context(request))
            reply = {"ok": True, "result": result}
        except Exception as exc:  # an unhandled error is the Lambda's Unhandled function error
            reply = {"ok": False, "errorType": type(exc).__name__, "errorMessage": str(exc),
                     "stackTrace": traceback.format_exc()}
        try:
            proto_out.write(json.dumps(reply) + "\n")
        except (TypeError, ValueError) as exc:  # the runtime fails a non-JSON result the same way
            proto_out.write(json.dumps({"ok": False, "errorType": "Runtime.MarshalError",
                                        "errorMessage": str(exc)}) + "\n")


if __name__ == "__main__":
    main()
