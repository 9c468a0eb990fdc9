"""OVMS's config reload for ``serve --config``: one poll of the watcher, from two places.

``serve``'s loop polls every ``--file_system_poll_wait_seconds``; ``POST /v1/config/reload``
polls now (OVMS reloads on that request even with polling off). A lock keeps the two apart.
Models the config no longer lists are remembered with the versions they served, so the TFS
status shows them as ``END`` as OVMS does, though Triton has forgotten them.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:
    from ovtriton.server.process import TritonServer
    from ovtriton.server.watch import ConfigWatcher, TritonControl

LOGGER = logging.getLogger(__name__)


def config_reload(
    watcher: Optional["ConfigWatcher"], server: "TritonServer"
) -> Optional["ConfigReload"]:
    """The reload of ``serve --config`` for ``server``; None when it serves a Triton repository."""
    if watcher is None:
        return None
    from ovtriton.server.watch import TritonControl

    control = TritonControl(server.http_url, server.admin_headers, server.verify)
    return ConfigReload(watcher, control, server.http_url)


@dataclass(frozen=True)
class ReloadOutcome:
    changed: bool  # models were loaded or unloaded
    error: str  # why the config could not be applied ("" when it was, or was unchanged)


class ConfigReload:
    """The watcher's poll with Triton's load/unload, safe to call from any thread."""

    def __init__(
        self,
        watcher: "ConfigWatcher",
        control: "TritonControl",
        triton_http: str,
    ) -> None:
        self.watcher = watcher
        self.control = control
        self.triton_http = triton_http
        self._lock = threading.Lock()
        self._retired: dict[str, tuple[int, ...]] = {}  # name -> versions it served
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every poll that loaded or unloaded models."""
        self._listeners.append(listener)

    def poll(self) -> bool:
        """Apply a changed config (or model folders); True when Triton was told to reload."""
        with self._lock:
            changed = self.watcher.poll(self._load, self._unload)
        if changed:
            self._changed()
        return changed

    def reload(self) -> ReloadOutcome:
        """``POST /v1/config/reload``: read the config now; an invalid one says why."""
        with self._lock:
            changed = self.watcher.poll(self._load, self._unload)
            outcome = ReloadOutcome(changed, "" if changed else self.watcher.last_error)
        if changed:
            self._changed()
        return outcome

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    def busy(self) -> bool:
        """Whether a poll is applying a config now (the repository may be half reloaded)."""
        return self._lock.locked()

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Return once no poll runs (or after ``timeout`` seconds)."""
        if self._lock.acquire(timeout=timeout):
            self._lock.release()

    def retired(self, name: str) -> tuple[int, ...]:
        """The versions a model removed from the config served (empty: not removed)."""
        return self._retired.get(name, ())

    def retired_names(self) -> list[str]:
        return sorted(self._retired)

    def _load(self, name: str) -> None:
        self._retired.pop(name, None)
        self.control.load(name)

    def _unload(self, name: str) -> None:
        versions = self._ready_versions(name)
        self.control.unload(name)
        self._retired[name] = versions or (1,)

    def _ready_versions(self, name: str) -> tuple[int, ...]:
        """The versions of ``name`` Triton serves now, from its metadata."""
        url = f"http://{self.triton_http}/v2/models/{urllib.parse.quote(name)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                versions = json.loads(answer.read()).get("versions", ())
        except (OSError, ValueError, urllib.error.URLError) as error:
            LOGGER.warning("cannot list the versions of %s before unloading it: %s", name, error)
            return ()
        return tuple(sorted(int(v) for v in versions if str(v).isdigit()))
