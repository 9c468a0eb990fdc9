"""What the front needs of serve's config reload (``ovtriton.server.reload.ConfigReload``,
which satisfies these protocols): the server hands it to the front, so ``ovtriton.tfs``
imports nothing of ``ovtriton.server`` (``tests/unit/test_layering.py``)."""

from __future__ import annotations

from typing import Callable, Protocol


class ReloadAnswer(Protocol):
    @property
    def changed(self) -> bool:
        """Models were loaded or unloaded."""
        ...

    @property
    def error(self) -> str:
        """Why the config could not be (fully) applied; "" when it was."""
        ...

    @property
    def busy(self) -> bool:
        """Another reload ran for longer than the caller would wait."""
        ...


class Reloader(Protocol):
    def reload(self) -> ReloadAnswer:
        """``POST /v1/config/reload``: read the config now."""
        ...

    def busy(self) -> bool:
        """Whether a reload is applying a config now."""
        ...

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Return once no reload runs (or after ``timeout`` seconds)."""
        ...

    def retired(self, name: str) -> tuple[int, ...]:
        """The versions a model removed from the config served (empty: not removed)."""
        ...

    def retired_names(self) -> list[str]:
        """The models removed from the config."""
        ...

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every reload that loaded or unloaded models."""
        ...
