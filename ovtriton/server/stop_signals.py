"""How ``serve`` is stopped: SIGTERM and SIGINT, turned into a request its loop reads."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Optional


class StopSignals:
    """SIGTERM and SIGINT stop serve the same clean way. Until ``deferred`` is set they raise
    KeyboardInterrupt (starting up); from then on they only set a flag that the supervision
    loop reads between polls, so no exception lands in the middle of a call to tritonserver (a
    gevent client), a reload writing the repository or the stop itself. The flag is a plain
    attribute: a handler must not take a lock the interrupted code may hold."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.deferred = False
        self.stop = False

    def requested(self) -> bool:
        return self.stop

    def __enter__(self) -> StopSignals:
        self._previous = {s: signal.signal(s, self._handler) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _handler(self, signum: int, frame: Optional[FrameType]) -> None:
        self.stop = True
        if not self.deferred:
            raise KeyboardInterrupt
