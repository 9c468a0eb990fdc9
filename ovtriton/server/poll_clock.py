"""When ``serve``'s loop polls: at a fixed rate, never two polls at once.

A poll starts every ``period`` seconds counted from the previous poll's *start*, so a change
is seen within one period plus the poll's own work (listing object storage can take a good part
of a second). A poll that overruns its period is followed at once, and the rate is not made up
afterwards (no burst of polls after a slow one).
"""

from __future__ import annotations

import time
from typing import Callable


class PollClock:
    """``wait()`` returns when the next poll is due."""

    def __init__(
        self,
        period: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if period <= 0:
            raise ValueError(f"the poll period must be positive, not {period}")
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._due = clock() + period

    def wait(self) -> None:
        now = self._clock()
        if self._due > now:
            self._sleep(self._due - now)
        self._due = max(self._due, self._clock()) + self.period  # from this poll's start
