"""``serve``'s polls start at a fixed rate (``ovtriton/server/poll_clock.py``), on a fake clock."""

from __future__ import annotations

import pytest

from ovtriton.server.poll_clock import PollClock


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


def starts(works: list[float], period: float = 1.0) -> list[float]:
    """When each poll starts, each poll taking the given seconds of work."""
    time = FakeTime()
    clock = PollClock(period, time.clock, time.sleep)
    began = []
    for work in works:
        clock.wait()
        began.append(round(time.now - 100.0, 6))
        time.now += work
    return began


def test_polls_start_every_period_whatever_their_work_takes() -> None:
    # a sleep after each poll would start them at 1, 2.4, 3.8, 5.2
    assert starts([0.4, 0.4, 0.4, 0.4]) == [1.0, 2.0, 3.0, 4.0]


def test_an_overrunning_poll_is_followed_at_once_without_a_burst_after_it() -> None:
    assert starts([0.2, 2.5, 0.2, 0.2]) == [1.0, 2.0, 4.5, 5.5]


def test_the_period_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        PollClock(0)


def test_a_stop_ends_the_wait_within_a_slice() -> None:
    time = FakeTime()
    clock = PollClock(10.0, time.clock, time.sleep)
    asked = [False]

    def stopped() -> bool:
        if time.now - 100.0 >= 0.25:  # the stop signal came 0.25 s into the wait
            asked[0] = True
        return asked[0]

    assert clock.wait(stopped) is True
    assert time.now - 100.0 == pytest.approx(0.3)  # noticed at the next 0.1 s slice
    assert clock.wait(lambda: False) is False and time.now - 100.0 == pytest.approx(10.0)
