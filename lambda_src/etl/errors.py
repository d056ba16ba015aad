"""What parsing can refuse: a whole object (for good, or until it can be read) or one line."""

from __future__ import annotations


class ObjectError(Exception):
    """The object as a whole cannot be loaded; nothing from it is.

    ``permanent`` errors are about the object's bytes (not gzip, over a limit, not JSON
    lines): reading it again gives the same answer, so it is marked failed once. Read
    failures (:class:`ReadError`) are not: the object is retried by later runs.
    """

    permanent: bool = True
    #: The writer's declared line count, when the object was read (set by the runner).
    declared: int | None = None


class ReadError(ObjectError):
    """The object could not be fetched (S3 error, timeout, throttling, reset, short read)."""

    permanent = False


class Reject(Exception):
    """One line is refused, with the reason stored in dw.rejected_events."""
