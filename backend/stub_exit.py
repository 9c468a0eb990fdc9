"""End this stub when a custom node hangs, so that a fresh one replaces it.

A thread stuck in a foreign call (a custom node library's ``execute`` past its deadline) can
be neither stopped nor abandoned safely: it holds a worker and may write to memory at any
time, and unloading the model would wait for it forever (``deinitialize`` must not run while
``execute`` does). So once the requests of the ``execute`` that met the deadline have been
answered, the stub exits: Triton reports the model's instance as not healthy, and ``ovtriton
serve``'s stub watchdog reloads the model with a new stub (without the watchdog the model stays
unavailable until it is reloaded by hand).
"""

from __future__ import annotations

import logging
import os
import threading

LOGGER = logging.getLogger(__name__)

GRACE_SECONDS = 2.0  # for the responses returned by execute to reach Triton
_scheduled = threading.Event()


def replace_stub(model: str, hung: list[str], grace: float = GRACE_SECONDS) -> None:
    """Log why, then end this process after ``grace`` seconds (once)."""
    if _scheduled.is_set():
        return
    _scheduled.set()
    LOGGER.error(
        "model %r: custom node(s) %s hung past their deadline; this stub (pid %d) exits in "
        "%.0f s so that the model is reloaded with a new one",
        model,
        ", ".join(hung),
        os.getpid(),
        grace,
    )
    timer = threading.Timer(grace, os._exit, (1,))
    timer.daemon = True
    timer.start()
