"""ConfigReload: one reload at a time, callers answered (busy after a bounded wait), every
error logged and answered, never raised (issue 19 finding 2)."""

from __future__ import annotations

import threading
from typing import Any, Callable

import pytest

from ovtriton.server.reload import BUSY, ConfigReload
from ovtriton.server.triton_admin import TritonAdmin

Hook = Callable[[str], None]


class FakeWatcher:
    """Stands in for ConfigWatcher: ``poll`` runs ``action`` with the load/unload hooks."""

    def __init__(self, action: Callable[[Hook, Hook], bool]) -> None:
        self.action = action
        self.last_error = ""

    def poll(self, load: Hook, unload: Hook) -> bool:
        return self.action(load, unload)


def nothing_answers() -> TritonAdmin:
    return TritonAdmin("127.0.0.1:1", timeout=2)  # port 1: connection refused


def test_a_bug_in_the_reload_is_logged_and_answered_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(load: Hook, unload: Hook) -> bool:
        raise KeyError("boom")

    reload = ConfigReload(FakeWatcher(broken), nothing_answers())  # type: ignore[arg-type]
    outcome = reload.reload()
    assert not outcome.changed and not outcome.busy
    assert outcome.error == "the config reload failed: KeyError: 'boom'"
    assert reload.poll() is False  # --watch: the same, never raised
    assert "the config reload failed" in caplog.text


def test_a_load_while_triton_is_down_is_answered_with_the_model_named() -> None:
    def load_one(load: Hook, unload: Hook) -> bool:
        load("m")
        return True

    reload = ConfigReload(FakeWatcher(load_one), nothing_answers())  # type: ignore[arg-type]
    outcome = reload.reload()
    assert outcome.changed
    assert outcome.error == "could not load m: [Errno 111] Connection refused"


def test_callers_wait_for_a_running_reload_then_get_busy_and_watch_skips() -> None:
    inside, release = threading.Event(), threading.Event()

    def slow(load: Hook, unload: Hook) -> bool:
        inside.set()
        release.wait(60)
        return False

    reload = ConfigReload(FakeWatcher(slow), nothing_answers(), wait=0.1)  # type: ignore[arg-type]
    first = threading.Thread(target=reload.reload)
    first.start()
    try:
        assert inside.wait(60)
        outcome = reload.reload()
        assert outcome.busy and not outcome.changed and outcome.error == BUSY
        assert reload.poll() is False  # --watch does not wait: its next poll comes anyway
    finally:
        release.set()
        first.join(60)
    inside.clear()
    release.set()
    assert reload.reload().busy is False  # free again


def test_a_verify_failure_is_answered() -> None:
    def unload_one(load: Hook, unload: Hook) -> bool:
        unload("gone")
        return True

    def other_server() -> None:
        raise ConnectionError("no server answers GET /v2 on 127.0.0.1:1")

    reload = ConfigReload(
        FakeWatcher(unload_one),
        nothing_answers(),
        verify=other_server,  # type: ignore[arg-type]
    )
    outcome = reload.reload()
    assert outcome.error == "could not unload gone: no server answers GET /v2 on 127.0.0.1:1"
    assert reload.retired("gone") == (1,)


def test_a_config_reload_that_changed_models_drops_the_cache() -> None:
    from ovtriton.server.reload import ConfigReload

    class Watcher:
        changed = False
        last_error = ""

        def poll(self, load: Any, unload: Any) -> bool:
            return self.changed

    watcher = Watcher()
    reload = ConfigReload(watcher, admin=None)  # type: ignore[arg-type]
    dropped: list[str] = []
    reload.on_change(lambda: dropped.append("all"))
    reload.poll()
    reload.reload()
    assert dropped == []
    watcher.changed = True
    reload.poll()
    reload.reload()
    assert dropped == ["all", "all"]


def test_wait_idle_returns_once_the_poll_ends() -> None:
    import threading

    from ovtriton.server.reload import ConfigReload

    entered, release = threading.Event(), threading.Event()

    class Watcher:
        last_error = ""

        def poll(self, load: Any, unload: Any) -> bool:
            entered.set()
            release.wait(30)
            return False

    reload = ConfigReload(Watcher(), admin=None)  # type: ignore[arg-type]
    poller = threading.Thread(target=reload.poll)
    poller.start()
    assert entered.wait(30) and reload.busy()
    release.set()
    reload.wait_idle(30)
    assert not reload.busy()
    poller.join(30)
