"""OVMS's config reload for ``serve --config``: one path for ``--watch`` and the REST call.

``serve``'s loop polls every ``--file_system_poll_wait_seconds``; ``POST /v1/config/reload``
(``ovtriton.tfs.rest_front``) reloads now, as OVMS does even with polling off. Both go through
``ConfigReload``, which

- runs one reload at a time (a lock): the REST caller waits for a running reload at most
  ``wait`` seconds, then gets ``busy`` ("a config reload is in progress"); ``--watch`` does
  not wait (its next poll comes anyway);
- never raises: whatever goes wrong (Triton down or restarting, a load refused, a bug) is
  logged and returned in the outcome, and the models that run keep serving;
- talks to Triton through ``TritonAdmin`` (no client object shared between threads).

Models the config no longer lists are remembered with the versions they served, so the TFS
status shows them as ``END`` as OVMS does, though Triton has forgotten them.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable, Optional

from ovtriton.errors import UserError
from ovtriton.server.triton_admin import CallFailed, TritonAdmin, message
from ovtriton.server.watch import ConfigWatcher

LOGGER = logging.getLogger(__name__)

BUSY = "a config reload is in progress; try again when it is done"


@dataclass(frozen=True)
class ReloadOutcome:
    changed: bool  # models were loaded or unloaded
    error: str = ""  # why the config could not be (fully) applied; "" when it was
    busy: bool = False  # another reload ran for longer than the caller would wait


class ConfigReload:
    """The watcher's poll with Triton's load/unload, safe to call from any thread."""

    def __init__(
        self,
        watcher: ConfigWatcher,
        admin: TritonAdmin,
        verify: Callable[[], None] = lambda: None,
        wait: float = 30.0,
    ) -> None:
        self.watcher = watcher
        self.admin = admin
        self._verify = verify  # raises unless our own tritonserver answers
        self.wait = wait
        self._lock = threading.Lock()
        self._errors: list[str] = []  # of the reload running now (under the lock)
        self._retired: dict[str, tuple[int, ...]] = {}  # name -> versions it served
        self._listeners: list[Callable[[], None]] = []
        watcher.on_retire = self._retire

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every reload that loaded or unloaded models (the front's
        model info cache is dropped so)."""
        self._listeners.append(listener)

    def busy(self) -> bool:
        """Whether a reload is applying a config now (the repository may be half reloaded)."""
        return self._lock.locked()

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Return once no reload runs (or after ``timeout`` seconds)."""
        if self._lock.acquire(timeout=timeout):
            self._lock.release()

    def poll(self) -> bool:
        """``--watch``: apply a changed config (or model folders); True when Triton was told
        to reload. Skipped (False) while a ``POST /v1/config/reload`` runs."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            return self._run().changed
        finally:
            self._lock.release()

    def reload(self) -> ReloadOutcome:
        """``POST /v1/config/reload``: read the config now; an invalid one says why."""
        if not self._lock.acquire(timeout=self.wait):
            return ReloadOutcome(False, BUSY, busy=True)
        try:
            outcome = self._run()
            if not outcome.changed and not outcome.error:
                return ReloadOutcome(False, self.watcher.last_error)
            return outcome
        finally:
            self._lock.release()

    def _run(self) -> ReloadOutcome:
        self._errors = []
        try:
            changed = self.watcher.poll(self._load, self._unload)
        except Exception as exc:  # a bug must not end serve: log it, answer it, keep serving
            LOGGER.exception("the config reload failed; the models that run keep serving")
            self._errors.append(f"the config reload failed: {type(exc).__name__}: {exc}")
            changed = False
        if changed:
            for listener in self._listeners:
                listener()
        return ReloadOutcome(changed, "; ".join(self._errors))

    def retired(self, name: str) -> tuple[int, ...]:
        """The versions a model removed from the config served (empty: not removed)."""
        return self._retired.get(name, ())

    def retired_names(self) -> list[str]:
        return sorted(self._retired)

    def _load(self, name: str) -> None:
        self._retired.pop(name, None)
        self._control("load", name, self.admin.load)

    def _retire(self, name: str) -> None:
        """Before its folder leaves the repository (and Triton's index): the TFS status shows
        END from then on, never "not found" in between."""
        self._retired[name] = self._ready_versions(name) or (1,)

    def _unload(self, name: str) -> None:
        self._retired.setdefault(name, (1,))
        self._control("unload", name, self.admin.unload)

    def _control(self, what: str, name: str, call: Callable[[str], None]) -> None:
        """One load/unload; a failure is logged and kept for the answer, never raised."""
        try:
            self._verify()
            call(name)
        except (UserError, ConnectionError) as exc:  # not our server, or none answers
            error = f"could not {what} {name}: {exc}"
        except CallFailed as exc:
            error = f"Triton could not {what} {name}: {message(exc)}"
        else:
            return
        LOGGER.error("%s", error)
        self._errors.append(error)

    def _ready_versions(self, name: str) -> tuple[int, ...]:
        """The versions of ``name`` Triton serves now, from its metadata."""
        try:
            return self.admin.model_versions(name)
        except (*CallFailed, ValueError) as exc:
            LOGGER.warning(
                "cannot list the versions of %s before unloading it: %s", name, message(exc)
            )
            return ()


def config_reload(
    watcher: Optional[ConfigWatcher], admin: TritonAdmin, verify: Callable[[], None]
) -> Optional[ConfigReload]:
    """The reload of ``serve --config``; None when serve serves a Triton repository."""
    return None if watcher is None else ConfigReload(watcher, admin, verify)
