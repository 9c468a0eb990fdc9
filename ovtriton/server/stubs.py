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

import functools
import logging
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import psutil

from ovtriton.backend import BACKEND_NAME
from ovtriton.errors import UserError
from ovtriton.server.guard import SHM_DIR
from ovtriton.server.triton_admin import CallFailed, TritonAdmin, message

LOGGER = logging.getLogger(__name__)

STUB_NAME = "triton_python_backend_stub"
_STUB_BACKENDS = (BACKEND_NAME, "python")


@dataclass(frozen=True)
class Stub:
    model: str
    version: str
    region: str  # its shared-memory region, /dev/shm/<region>
    pid: int


def stubs_of(server_pid: int) -> list[Stub]:
    """The live stubs of a tritonserver (a zombie is a dead stub Triton has not reaped)."""
    try:
        children = psutil.Process(server_pid).children()
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            argv = child.cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        # argv: stub, <repository>/<model>/<version>/model.py, shm region name, ...
        if len(argv) >= 3 and argv[0].endswith(STUB_NAME):
            model_py = Path(argv[1])
            found.append(
                Stub(model_name(model_py.parent.parent), model_py.parent.name, argv[2], child.pid)
            )
    return found


@functools.lru_cache(maxsize=256)
def model_name(folder: Path) -> str:
    """The model a stub serves: its folder's name, or, for a repository in object storage
    (tritonserver copies each model to a folder of its own, /tmp/folderXXXXXX), the name its
    config.pbtxt gives."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    try:
        text = (folder / "config.pbtxt").read_text(encoding="utf-8")
        config = text_format.Parse(text, model_config_pb2.ModelConfig(), allow_unknown_field=True)
    except (OSError, text_format.ParseError, UnicodeDecodeError):
        return folder.name
    return config.name or folder.name


def live_stubs(server_pid: int) -> Counter:
    """(model, version) -> number of live stubs."""
    return Counter((s.model, s.version) for s in stubs_of(server_pid))


class StubWatchdog:
    """A daemon thread that reloads models with fewer live stubs than instances."""

    def __init__(
        self,
        server_pid: int,
        admin: TritonAdmin,
        interval: float = 1.0,
        verify: Optional[Callable[[], None]] = None,
    ) -> None:
        self.server_pid = server_pid
        self.interval = interval
        self._admin = admin  # Triton's repository API with the admin key
        self._verify = verify or (lambda: None)  # raises unless our own server answers
        self._regions: dict[str, int] = {}  # region -> pid of the stub seen using it
        self.revived: list[str] = []  # model names, in order, for logs and tests
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

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except CallFailed as exc:  # server stopping or busy
                LOGGER.debug("stub watchdog: %s", message(exc))
            except UserError as exc:  # another server answers on our port: touch nothing
                LOGGER.error("stub watchdog: %s", exc)

    def check(self) -> list[str]:
        """Reload every READY model missing a stub; returns their names."""
        self._verify()
        self.track()
        ready = self._admin.loaded()  # never the repository index: see TritonAdmin.loaded
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
                self._verify()
                self._revive(name, sorted(missing))
                revived.append(name)
        self.remove_dead_regions()
        return revived

    def track(self) -> None:
        """Remember which stub uses which shared-memory region."""
        self._regions.update((s.region, s.pid) for s in stubs_of(self.server_pid))

    def remove_dead_regions(self) -> list[Path]:
        """Delete the shared memory of stubs that died (Triton may keep it until it stops)."""
        removed = []
        for region, pid in list(self._regions.items()):
            if _alive(pid):
                continue
            del self._regions[region]
            path = SHM_DIR / region
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                LOGGER.warning("could not remove %s of a dead stub: %s", path, exc.strerror)
                continue
            LOGGER.info("removed %s, the shared memory of a dead stub", path)
            removed.append(path)
        return removed

    def _expected(self, name: str, refresh: bool) -> int:
        if refresh or name not in self._instances:
            config = self._admin.model_config(name)
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
            self._admin.unload(name)
            self._admin.load(name)
        except CallFailed as exc:
            LOGGER.error("could not reload %s after its stub died: %s", name, message(exc))
            return
        self.revived.append(name)
        LOGGER.warning("model %s reloaded", name)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
