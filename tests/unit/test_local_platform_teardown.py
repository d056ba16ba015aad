"""What `make demo` on an external emulator destroys at exit: only what is still applied.

An external emulator outlives the platform, so the platform destroys its apply on the way
out; when the caller has destroyed it already (the e2e test does), that second destroy
would be a full plan of nothing, and is not run.
"""

from __future__ import annotations

import pytest

from clickstream.local_platform import _destroy_what_is_applied

pytestmark = pytest.mark.unit


class _FakeRoot:
    def __init__(self, state: dict) -> None:
        self._state, self.destroyed = state, []

    def state(self) -> dict:
        return self._state

    def destroy(self, variables: dict) -> None:
        self.destroyed.append(variables)


@pytest.mark.parametrize(("state", "destroyed"), [
    ({"resources": [{"mode": "managed", "type": "aws_s3_bucket"}]}, [{"x": 1}]),
    ({"resources": [{"mode": "data", "type": "aws_region"}]}, [{"x": 1}]),
    ({"version": 4, "resources": []}, []),
    ({}, []),
])
def test_destroys_only_a_state_that_holds_something(state: dict, destroyed: list) -> None:
    root = _FakeRoot(state)
    _destroy_what_is_applied(root, {"x": 1})  # type: ignore[arg-type]
    assert root.destroyed == destroyed
