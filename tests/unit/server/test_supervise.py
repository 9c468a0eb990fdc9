"""Supervisor: restarts a dead tritonserver with backoff, gives up past its limit."""

from __future__ import annotations

import signal

import pytest

from ovtriton.errors import UserError
from ovtriton.server.supervise import Supervisor, describe_exit


class FakeServer:
    """Dies when told; ``restart`` fails ``failures`` times first."""

    def __init__(self, failures: int = 0) -> None:
        self.running = True
        self.returncode: int | None = None
        self.pid = 100
        self.expected_id = "ovtriton-1-a"
        self.failures = failures
        self.restarts = 0

    def die(self, code: int) -> None:
        self.running, self.returncode = False, code

    def restart(self) -> None:
        self.restarts += 1
        self.pid += 1
        if self.failures:
            self.failures -= 1
            self.returncode = 1
            raise UserError("tritonserver exited with code 1 during start-up")
        self.running, self.returncode = True, None

    def log_tail(self) -> str:
        return "last lines"


def test_exit_statuses_are_named() -> None:
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe_exit(-signal.SIGABRT) == "killed by SIGABRT"
    assert describe_exit(3) == "exit code 3"


def test_a_dead_server_is_restarted_after_a_growing_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, delays = FakeServer(failures=2), []
    supervisor = Supervisor(server, limit=5, sleep=delays.append)  # type: ignore[arg-type]
    assert supervisor.check() and server.restarts == 0  # alive: nothing to do
    server.die(-signal.SIGABRT)
    for _ in range(3):  # two failed attempts, then back
        assert supervisor.check()
    assert server.running and server.restarts == 3
    assert delays == [1.0, 2.0, 4.0]
    assert "tritonserver (pid 100) died: killed by SIGABRT" in caplog.text
    assert "tritonserver is back (pid 103, id ovtriton-1-a)" in caplog.text
    assert len(supervisor.times_to_healthy) == 1


def test_it_gives_up_past_the_limit() -> None:
    server, delays = FakeServer(), []
    supervisor = Supervisor(server, limit=2, max_delay=3, sleep=delays.append)  # type: ignore[arg-type]
    for _ in range(2):
        server.die(-signal.SIGKILL)
        assert supervisor.check()
    server.die(-signal.SIGKILL)
    assert supervisor.check() is False
    assert server.restarts == 2 and delays == [1.0, 2.0]
