"""Bring a model back when one of its Python backend stubs dies.

Each instance of an ``openvino_py`` model is a ``triton_python_backend_stub`` child process of
tritonserver. When a stub is killed (OOM killer, a crash in native code), Triton 2.51 neither
restarts it nor marks the model unready: every later request fails with
``Stub process '<model>_0_0' is not healthy.`` until the model is reloaded. This watchdog counts
each READY model's live stubs against its ``instance_group`` and, when one is missing, reloads
the model through the repository API (explicit model-control mode): unload, then load, since
loading a model whose files and config did not change is a no-op. Requests to that model fail
for the second or two the load takes; other models are not touched.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from pathlib import Path

import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from ovtriton.backend import BACKEND_NAME

LOGGER = logging.getLogger(__name__)

STUB_NAME = "triton_python_backend_stub"
_STUB_BACKENDS = (BACKEND_NAME, "python")


def live_stubs(server_pid: int) -> Counter:
    """(model, version) -> number of live stubs (zombies are dead stubs Triton has not reaped)."""
    found: Counter = Counter()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        state, ppid = stat.rpartition(")")[2].split()[:2]
        if int(ppid) != server_pid or state == "Z" or not argv[0].endswith(STUB_NAME.encode()):
            continue
        model_py = Path(os.fsdecode(argv[1]))  # <repository>/<model>/<version>/model.py
        found[(model_py.parent.parent.name, model_py.parent.name)] += 1
    return found


class StubWatchdog:
    """A daemon thread that reloads models with fewer live stubs than instances."""

    def __init__(self, server_pid: int, http_url: str, interval: float = 1.0) -> None:
        self.server_pid = server_pid
        self.interval = interval
        self.revived: list[str] = []  # model names, in order, for logs and tests
        self._client = httpclient.InferenceServerClient(http_url, network_timeout=600.0)
        self._instances: dict[str, int] = {}  # model -> stubs per version, from its config
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stub-watchdog", daemon=True)

    def start(self) -> StubWatchdog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except (InferenceServerException, OSError) as exc:  # server stopping or busy
                LOGGER.debug("stub watchdog: %s", exc)

    def check(self) -> list[str]:
        """Reload every READY model missing a stub; returns their names."""
        ready = [
            (m["name"], m.get("version", ""))
            for m in self._client.get_model_repository_index()
            if m.get("state") == "READY"
        ]
        stubs = live_stubs(self.server_pid)
        broken = sorted(
            {
                name
                for name, version in ready
                if stubs[(name, version)] < self._expected(name, refresh=False)
            }
        )
        revived = []
        for name in broken:
            # Confirm with a fresh config (a reload may have changed the instance count).
            expected = self._expected(name, refresh=True)
            missing = {
                v for n, v in ready if n == name and live_stubs(self.server_pid)[(n, v)] < expected
            }
            if missing and not self._stop.is_set():
                self._revive(name, sorted(missing))
                revived.append(name)
        return revived

    def _expected(self, name: str, refresh: bool) -> int:
        if refresh or name not in self._instances:
            config = self._client.get_model_config(name)
            stubs = 0
            if config.get("backend") in _STUB_BACKENDS:
                stubs = sum(int(g.get("count", 1)) for g in config.get("instance_group", [{}]))
            self._instances[name] = stubs
        return self._instances[name]

    def _revive(self, name: str, versions: list[str]) -> None:
        LOGGER.warning(
            "model %s version(s) %s lost a Python backend stub process; reloading it",
            name,
            ", ".join(versions),
        )
        try:
            # Unload then load: loading an unchanged model is a no-op, even with its config.
            self._client.unload_model(name)
            self._client.load_model(name)
        except InferenceServerException as exc:
            LOGGER.error("could not reload %s after its stub died: %s", name, exc.message())
            return
        self.revived.append(name)
        LOGGER.warning("model %s reloaded", name)
