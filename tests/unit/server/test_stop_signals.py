"""``serve``'s stop signals (``ovtriton/server/stop_signals.py``), raised in this process."""

from __future__ import annotations

import signal

import pytest

from ovtriton.server.stop_signals import StopSignals


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_signal_interrupts_the_start_and_only_asks_the_loop_to_end_later(number: int) -> None:
    before = signal.getsignal(number)
    with StopSignals() as signals:
        with pytest.raises(KeyboardInterrupt):  # starting up: interrupted at once
            signal.raise_signal(number)
        signals.stop = False
        signals.deferred = True  # supervising: only the flag, no exception
        assert not signals.requested()
        signal.raise_signal(number)
        assert signals.requested()
    assert signal.getsignal(number) is before  # the previous handler is back
