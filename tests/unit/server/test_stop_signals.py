"""``serve``'s stop signals (``ovtriton/server/stop_signals.py``). The handler is called directly:
raising a real signal in the test process would reach every library's handlers (gevent, gRPC)
loaded by other tests; serve's own stop on a real SIGTERM and SIGINT is tested in
``tests/integration/test_serve_cli.py``."""

from __future__ import annotations

import signal

import pytest

from ovtriton.server.stop_signals import StopSignals


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_signal_interrupts_the_start_and_only_asks_the_loop_to_end_later(number: int) -> None:
    before = signal.getsignal(number)
    with StopSignals() as signals:
        handler = signal.getsignal(number)
        assert callable(handler) and handler is not before  # installed for both signals
        with pytest.raises(KeyboardInterrupt):  # starting up: interrupted at once
            handler(number, None)
        signals.stop = False
        signals.deferred = True  # supervising: only the flag, no exception
        assert not signals.requested()
        handler(number, None)
        assert signals.requested()
    assert signal.getsignal(number) is before  # the previous handler is back
