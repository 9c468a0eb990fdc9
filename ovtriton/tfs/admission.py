"""Bound the memory a server spends on requests: bytes in flight, and bodies that inflate.

- :class:`ByteBudget`: every request holds its size (body, inflated body, filled tensors)
  while it runs; a request that does not fit waits up to ``wait`` seconds for earlier ones to
  finish, then is refused (HTTP 429 / gRPC RESOURCE_EXHAUSTED) instead of piling up memory.
  One request larger than the whole budget runs alone; requests under ``SMALL`` bytes are not
  held (they cost little, and a flood of large requests must not refuse the small ones).
- :func:`inflate`: a ``Content-Encoding: gzip``/``deflate`` body inflated with zlib's
  ``max_length``, so a 16 KB bomb stops at the cap instead of growing to gigabytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from dataclasses import dataclass
from typing import AsyncIterator

from ovtriton.tfs.json_guard import BodyRefused

DEFAULT_BUDGET = 512 << 20  # bytes in flight per front (all requests together)
DEFAULT_WAIT = 2.0  # seconds a request waits for room before it is refused
SMALL = 64 << 10  # requests below this pass without holding the budget
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Admission:
    """How many request bytes one server holds in flight, and how long a request waits for
    room (serve's ``--max-inflight-bytes`` and ``--inflight-wait``)."""

    budget_bytes: int = DEFAULT_BUDGET
    wait: float = DEFAULT_WAIT

    def budget(self) -> "ByteBudget":
        """A new budget: call inside the event loop that will use it."""
        return ByteBudget(self.budget_bytes, self.wait)


class Busy(Exception):
    """The budget stayed full for the whole wait: refuse with 429 / RESOURCE_EXHAUSTED."""


class ByteBudget:
    """Bytes in flight on one event loop (create and use it inside that loop)."""

    def __init__(self, total: int = DEFAULT_BUDGET, wait: float = DEFAULT_WAIT) -> None:
        self.total = total
        self.wait = wait
        self.used = 0
        self.refused = 0
        self._changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def hold(self, size: int) -> AsyncIterator[None]:
        """Hold ``size`` bytes of the budget while the block runs (small or a 0 total: no wait)."""
        size = min(max(0, size), self.total)
        if size < SMALL or self.total <= 0:
            yield
            return
        async with self._changed:
            try:
                if self.used + size > self.total:
                    if self.wait <= 0:
                        raise asyncio.TimeoutError
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: self.used + size <= self.total), self.wait
                    )
            except asyncio.TimeoutError:
                self.refused += 1
                raise Busy(
                    f"the server holds {self.used} bytes of requests in flight (limit "
                    f"{self.total}); this one needs {size}: retry shortly"
                ) from None
            self.used += size
        try:
            yield
        finally:
            async with self._changed:
                self.used -= size
                self._changed.notify_all()


def inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """``body`` decoded from ``encoding`` (gzip, deflate, identity), refused past ``limit`` bytes."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    wbits = _WBITS.get(encoding)
    if wbits is None:
        raise BodyRefused(
            415, f"Content-Encoding {encoding!r} is not supported; send gzip, deflate or none"
        )
    decoder = zlib.decompressobj(wbits)
    parts, size, data = [], 0, body
    try:
        while data or not decoder.eof:
            chunk = decoder.decompress(data, min(_CHUNK, limit + 1 - size))
            parts.append(chunk)
            size += len(chunk)
            if size > limit:
                raise BodyRefused(
                    413,
                    f"the {encoding} body inflates past {limit} bytes, the largest body this "
                    "server accepts; send a smaller request",
                )
            data = decoder.unconsumed_tail
            if not chunk and not data:
                break
    except zlib.error as error:
        raise BodyRefused(400, f"the body is not valid {encoding}: {error}") from None
    if not decoder.eof:
        raise BodyRefused(400, f"the {encoding} body is truncated; send the whole stream")
    return b"".join(parts)
