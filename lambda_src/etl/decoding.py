"""Bytes to lines: gunzip with hard limits, then split into lines of bounded length.

What decides that an object is not a delivery at all (no gzip header, over the size or
ratio limit: :class:`~etl.errors.ObjectError`) and what only ends it early (truncated or
corrupt after good members: :attr:`GzipStream.error`, the complete lines before still load).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator

from etl.errors import ObjectError

#: Complete lines read before an object with no JSON line among them is refused as "not
#: JSON lines" (and not turned into that many reject rows). Ingest never writes a line that
#: is not JSON, so the first line already tells; a hundred leaves room for damaged objects.
NOT_JSON_PROBE = 100
#: Default ceiling on decompressed / compressed bytes. Ingest's gzip JSON lines reach ~20:1
#: at worst (500 events of one request sharing every enrichment field; measured with
#: ``ingest.storage.gzip_bytes``); deflate's own maximum is ~1032:1, which is what a bomb
#: uses. 100:1 leaves the real data a five-fold margin and refuses a bomb after its first
#: output chunk.
MAX_RATIO = 100.0
#: Decompressed bytes allowed beyond ``ratio * compressed``: more than any delivery ingest can
#: write (a body of at most 1 MiB plus its enrichment), so a valid object of one long,
#: highly compressible string (200 KB of one letter gzips to ~600 bytes, 333:1) still loads,
#: while a bomb is refused after this much and one chunk of its hundreds of megabytes.
RATIO_SLACK = 4 * 1024 * 1024
#: Output produced per zlib call: the ratio and size limits are checked after each one,
#: before any of it is yielded to the line splitter, so a bomb costs at most this much.
_GZ_CHUNK = 256 * 1024


def is_json_orjson_refuses(line: bytes) -> bool:
    """True when the standard library reads ``line`` as JSON although orjson did not."""
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


class GzipStream:
    """Decompressed chunks of a (multi-member) gzip body, with hard limits checked as it goes.

    Why a class and not a generator that raises: a stream that breaks part-way (truncated
    upload, corrupt bytes after the last good member) still delivered every complete line
    before the break, and those must load. So iteration simply stops at the break and
    :attr:`error` says why; the caller loads the complete lines and records the remainder
    as rejected. Only what says the object as a whole is not a gzip JSON-lines delivery
    raises :class:`ObjectError` (permanent): no gzip header at all, more than
    ``max_total`` bytes, or a compression ratio no real delivery has (a bomb). Both limits
    are checked after every ``_GZ_CHUNK`` of output and before it is yielded, so refusing a
    bomb costs one chunk of work whatever its size (:attr:`decompressed` says how much).
    """

    def __init__(self, chunks: Iterable[bytes], *, max_total: int, max_ratio: float | None = MAX_RATIO,
                 slack: int = RATIO_SLACK) -> None:
        self._chunks = chunks
        self.max_total = max_total
        self.max_ratio = max_ratio
        # Past a quarter of the size limit the slack would only delay the size limit's own
        # refusal: a bomb is then still told by its ratio, under any configured limit.
        self.slack = min(slack, max_total // 4)
        #: Bytes produced / compressed bytes consumed so far.
        self.decompressed = 0
        self.consumed = 0
        #: Why the stream stopped early (truncated or corrupt); None when it ended cleanly.
        self.error: str | None = None
        #: True once iteration has ended (cleanly or at a break).
        self.exhausted = False

    def _check(self) -> None:
        if self.decompressed > self.max_total:
            raise ObjectError(f"decompressed size exceeds the limit of {self.max_total} bytes")
        if self.max_ratio is not None and self.decompressed > self.max_ratio * self.consumed + self.slack:
            raise ObjectError(
                f"decompression bomb refused: {self.decompressed} bytes from {self.consumed} compressed "
                f"bytes is over the {self.max_ratio:g}:1 ratio limit (refused after "
                f"{self.decompressed} decompressed bytes)")

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._run()
        finally:
            self.exhausted = True

    def _run(self) -> Iterator[bytes]:
        self._d = zlib.decompressobj(wbits=31)
        self._member_input = False  # has the current gzip member been fed anything?
        for chunk in self._chunks:
            if chunk:
                self._member_input = True
            yield from self._feed(chunk)
            if self.error is not None:
                return
        if self._member_input and not self._d.eof:
            self.error = (f"truncated gzip stream (no end-of-stream marker after {self.decompressed} "
                          "decompressed bytes)")

    def _feed(self, data: bytes) -> Iterator[bytes]:
        """Decompress one input chunk, ``_GZ_CHUNK`` of output at a time, across member ends."""
        while True:
            d = self._d
            try:
                out = d.decompress(data, _GZ_CHUNK)
            except zlib.error as exc:
                if self.decompressed == 0:
                    raise ObjectError(f"not a valid gzip stream: {exc}") from exc
                self.error = f"corrupt gzip stream after {self.decompressed} decompressed bytes: {exc}"
                return
            rest = d.unused_data if d.eof else d.unconsumed_tail
            self.consumed += len(data) - len(rest)
            self.decompressed += len(out)
            self._check()
            if out:
                yield out
            if d.eof:
                data = self._next_member(d.unused_data)
                if not data:
                    return
                continue
            data = d.unconsumed_tail
            if not data and len(out) < _GZ_CHUNK:
                return

    def _next_member(self, data: bytes) -> bytes:
        """Start the next gzip member on what followed the last one (zero padding is no member)."""
        if data.strip(b"\x00") == b"":
            data = b""
        self._d = zlib.decompressobj(wbits=31)
        self._member_input = bool(data)
        return data


def gunzip_chunks(chunks: Iterable[bytes], max_total: int, *, max_ratio: float | None = MAX_RATIO) -> Iterator[bytes]:
    """All of a gzip body or :class:`ObjectError`: the strict form of :class:`GzipStream`."""
    stream = GzipStream(chunks, max_total=max_total, max_ratio=max_ratio)
    yield from stream
    if stream.error is not None:
        raise ObjectError(stream.error)


def iter_lines(
    chunks: Iterable[bytes], *, max_line: int
) -> Iterator[tuple[int, bytes | None, int]]:
    """Yield ``(line_no, line, length)``; ``line`` is None when longer than ``max_line``.

    A line over the limit is skipped without ever being held whole in memory.
    """
    buf = b""
    line_no = 0
    skipping = 0  # > 0: length so far of an over-long line being skipped
    for chunk in chunks:
        start = 0
        if skipping:
            nl = chunk.find(b"\n")
            if nl < 0:
                skipping += len(chunk)
                continue
            line_no += 1
            yield line_no, None, skipping + nl
            skipping = 0
            start = nl + 1
        data = buf + chunk[start:] if buf else chunk[start:]
        parts = data.split(b"\n")
        buf = parts.pop()
        for part in parts:
            line_no += 1
            if len(part) > max_line:
                yield line_no, None, len(part)
            else:
                yield line_no, part, len(part)
        if len(buf) > max_line:
            skipping = len(buf)
            buf = b""
    if skipping:
        yield line_no + 1, None, skipping
    elif buf:
        yield line_no + 1, buf if len(buf) <= max_line else None, len(buf)
