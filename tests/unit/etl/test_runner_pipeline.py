"""The loader's prefetch window (etl.runner._Pipeline): bounded by objects and by listed bytes.

The byte bound is what keeps the loader's memory flat at large objects (a parsed object
holds about 15 times its gzip size), so these tests check the bound itself, that order and
completeness survive it, and that one oversized object still goes through.
"""

from __future__ import annotations

from concurrent.futures import Future
from datetime import date

import pytest
from etl.listing import RawObject
from etl.runner import _Pipeline
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.unit


def _objects(sizes: list[int | None]) -> list[RawObject]:
    return [RawObject(key=f"events/v1/o{i:05d}", kind="events", dt=date(2026, 11, 1), etag=None, size=s)
            for i, s in enumerate(sizes)]


class _Recorder:
    """A submit that records what the window holds ahead of the loader at each call."""

    def __init__(self) -> None:
        self.submitted: list[RawObject] = []
        self.pipe: _Pipeline | None = None
        #: After each submit: objects and bytes in flight before it, and objects after it.
        self.pushes: list[tuple[int, int]] = []

    def submit(self, obj: RawObject) -> Future:
        self.submitted.append(obj)
        before = [o for o, _ in self.pipe._window] if self.pipe is not None else []
        self.pushes.append((len(before), sum(o.size or 0 for o in before)))
        fut: Future = Future()
        fut.set_result(obj.key)
        return fut


def _drain(pipe: _Pipeline, rec: _Recorder) -> list[str]:
    rec.pipe = pipe
    out = []
    for obj, fut in pipe:
        assert fut.result() == obj.key
        out.append(obj.key)
    return out


@settings(max_examples=300, deadline=None)
@given(sizes=st.lists(st.one_of(st.none(), st.integers(0, 5_000)), max_size=60),
       depth=st.integers(1, 10), max_bytes=st.one_of(st.none(), st.integers(1, 12_000)))
def test_every_object_comes_out_once_in_order_within_both_bounds(sizes, depth, max_bytes):
    objs = _objects(sizes)
    rec = _Recorder()
    keys = _drain(_Pipeline(rec.submit, objs, depth=depth, max_bytes=max_bytes), rec)
    assert keys == [o.key for o in objs]
    assert [o.key for o in rec.submitted] == keys
    for n_before, bytes_before in rec.pushes:
        # A push happens only into an empty window, or one under both bounds.
        assert n_before == 0 or n_before < depth
        assert n_before == 0 or max_bytes is None or bytes_before < max_bytes


def test_the_byte_bound_stops_prefetch_well_before_the_object_bound():
    objs = _objects([1_000] * 50)
    rec = _Recorder()
    it = iter(_Pipeline(rec.submit, objs, depth=128, max_bytes=4_000))
    next(it)
    # 4 objects fill the 4,000-byte window; after the first is taken one more is submitted.
    assert len(rec.submitted) == 5


def test_an_object_larger_than_the_bound_still_goes_through_alone():
    objs = _objects([10_000, 10_000, 10])
    rec = _Recorder()
    it = iter(_Pipeline(rec.submit, objs, depth=128, max_bytes=100))
    first, _ = next(it)
    assert first.key == objs[0].key
    assert len(rec.submitted) == 2  # the window refilled with one object only
    assert [o.key for o, _ in it] == [o.key for o in objs[1:]]


def test_cancel_stops_submitting_and_cancels_what_is_queued():
    submitted: list[Future] = []

    def submit(_obj: RawObject) -> Future:
        fut: Future = Future()  # never completes: the GET is still in flight
        submitted.append(fut)
        return fut

    pipe = _Pipeline(submit, _objects([10] * 20), depth=4, max_bytes=None)
    it = iter(pipe)
    next(it)
    pipe.cancel()
    assert len(submitted) == 5
    assert all(f.cancelled() for f in submitted[1:])
    assert list(it) == []
