"""The two kinds of user-fixable problems the backend reports, and how to quote an exception."""

from __future__ import annotations

from typing import TypeVar

E = TypeVar("E", bound=BaseException)


class BackendError(Exception):
    """Base class: a problem the user can fix; the message says what, where and how."""


class ModelLoadError(BackendError):
    """The model cannot be loaded: a missing or corrupt file, a bad parameter, a bad device.

    Triton marks the model UNAVAILABLE with this message; other models are not affected.
    """


class RequestError(BackendError):
    """One request is malformed; it gets its own INVALID_ARG response, the others still run.

    ``reason`` names the check that refused it in the ``ovtriton_requests_rejected`` metric.
    """

    def __init__(self, message: str, reason: str = "invalid_input") -> None:
        super().__init__(message)
        self.reason = reason


def first_line(exc: BaseException) -> str:
    """The first line of the exception's message; its type name when the message is empty."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def detached(error: E) -> E:
    """``error`` without its traceback and chained exceptions, to keep as a request's result.

    Those hold the frames that raised it, and their locals the request's arrays (views of the
    stub's shared memory), in reference cycles only Python's cyclic GC frees: kept as they are,
    every refused request held its input in /dev/shm until the GC ran.
    """
    error.__traceback__ = None
    error.__context__ = None
    error.__cause__ = None
    return error
