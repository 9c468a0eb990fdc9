"""Bring tritonserver back when it dies, whatever killed it (SIGKILL, SIGABRT, a crash).

``serve``'s main thread calls ``Supervisor.check()`` in its loop (the thread that starts
tritonserver must live as long as it: ``PR_SET_PDEATHSIG``). A dead tritonserver is logged
with its exit signal, then started again after a backoff (1 s, 2 s, 4 s ... at most
``max_delay``) by ``TritonServer.restart``: its leftovers removed, a new ``--id``, the same
ports (the TFS front's gRPC channel and REST session reconnect to them by themselves) and the
stub watchdog following the new process. Meanwhile nothing answers on Triton's ports, so
readiness is false and the front answers UNAVAILABLE / 503. More than ``limit`` restarts
within ``window`` seconds: serve gives up (exit 1) rather than crash-loop.
"""

from __future__ import annotations

import logging
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from ovtriton.errors import UserError

if TYPE_CHECKING:
    from ovtriton.server.process import TritonServer

LOGGER = logging.getLogger(__name__)


def describe_exit(code: int | None) -> str:
    """``killed by SIGKILL`` / ``exit code 3`` for a Popen returncode."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass
class Supervisor:
    """Restarts ``server`` when it died; ``check`` returns False once it gave up."""

    server: TritonServer
    limit: int = 5  # restarts within ``window`` seconds
    window: float = 600.0
    first_delay: float = 1.0
    max_delay: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    restarts: deque = field(default_factory=deque, init=False)  # monotonic times
    times_to_healthy: list[float] = field(default_factory=list, init=False)

    def check(self) -> bool:
        """Restart a dead tritonserver (blocking until it is healthy or the attempt failed)."""
        if self.server.running:
            return True
        now = time.monotonic()
        while self.restarts and now - self.restarts[0] > self.window:
            self.restarts.popleft()
        LOGGER.error(
            "tritonserver (pid %d) died: %s; the service is unavailable until it is back",
            self.server.pid,
            describe_exit(self.server.returncode),
        )
        if len(self.restarts) >= self.limit:
            LOGGER.error(
                "tritonserver died %d times within %.0f s; giving up (last log lines:)\n%s",
                len(self.restarts) + 1,
                self.window,
                self.server.log_tail(),
            )
            return False
        delay = min(self.first_delay * 2 ** len(self.restarts), self.max_delay)
        self.restarts.append(now)
        LOGGER.warning(
            "restarting tritonserver in %.0f s (restart %d; at most %d within %.0f s)",
            delay,
            len(self.restarts),
            self.limit,
            self.window,
        )
        self.sleep(delay)
        started = time.monotonic()
        try:
            self.server.restart()
        except (UserError, OSError) as exc:  # e.g. it died again while starting, a busy port
            LOGGER.error("tritonserver did not come back: %s", exc)
            return True  # still dead: the next check tries again (or gives up)
        took = time.monotonic() - started
        self.times_to_healthy.append(took)
        LOGGER.warning(
            "tritonserver is back (pid %d, id %s): healthy %.1f s after its restart",
            self.server.pid,
            self.server.expected_id,
            took,
        )
        return True
