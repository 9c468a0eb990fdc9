"""When ``serve``'s loop polls: at a fixed rate, never two polls at once.

A poll starts every ``period`` seconds counted from the previous poll's *start*, so a change
is seen within one period plus the poll's own work (listing object storage can take a good part
of a second). A poll that overruns its period is followed at once, and the rate is not made up
afterwards (no burst of polls after a slow one). ``wait`` sleeps in slices of at most
``SLICE_S`` and returns early once ``stopped()`` says so (serve's stop signals only set a flag
while it supervises, see ``commands/serve.py``).
"""

from __future__ import annotations

import time
from typing import Callable

SLICE_S = 0.1


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

    def wait(self, stopped: Callable[[], bool] = lambda: False) -> bool:
        """Until the next poll is due (False) or ``stopped()`` (True)."""
        while not stopped():
            now = self._clock()
            if now >= self._due:
                self._due = max(self._due, now) + self.period  # from this poll's start
                return False
            self._sleep(min(SLICE_S, self._due - now))
        return True
