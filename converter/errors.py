"""Config problems: what is wrong, where (a JSON path into the config) and how to fix it."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Union

from ovtriton.errors import UserError

LOGGER = logging.getLogger(__name__)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

PathPart = Union[str, int]
TOP = "(top level)"  # the JSON path of the whole document
MAX_PROBLEMS = 1000  # kept and shown; a 16 MiB config of junk must not exhaust memory


def json_path(*parts: PathPart) -> str:
    """``("pipeline_config_list", 0, "nodes", 2)`` -> ``pipeline_config_list[0].nodes[2]``.

    Keys that are not identifiers (tensor names such as ``map/TensorArrayStack``) are quoted:
    ``inputs[0]["map/TensorArrayStack"]``.
    """
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += '["' + _escape(part) + '"]'
    return text or TOP


def _escape(part: str) -> str:
    """Quotes and backslashes escaped; control characters and lone surrogates as ``\\uXXXX``."""
    out = part.replace("\\", "\\\\").replace('"', '\\"')
    return "".join(
        c if c.isprintable() and not "\ud800" <= c <= "\udfff" else f"\\u{ord(c):04x}" for c in out
    )


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the config, found before anything is written."""

    path: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text


class ConfigError(UserError):
    """The config cannot be converted; carries every problem found, not just the first."""

    def __init__(self, source: str, problems: Iterable[Problem], dropped: int = 0) -> None:
        self.source = source
        self.problems = tuple(problems)
        count = len(self.problems) + dropped
        lines = [f"{source}: {count} problem{'s' if count != 1 else ''}, nothing was written:"]
        lines += [f"  {problem}" for problem in self.problems]
        if dropped:
            lines.append(f"  ... and {dropped} more, not shown")
        super().__init__("\n".join(lines))

    @property
    def paths(self) -> list[str]:
        return [problem.path for problem in self.problems]


class Problems:
    """Collects problems while a config is read, so all of them can be reported at once.

    It is also the one place that knows what was reported: every problem is filed under its
    JSON path, and the parser files the JSON path of every value it had to leave out
    (``unread``: a missing key, an entry of the wrong type). A later check that depends on a
    part of the config asks ``clean(path)`` (nothing reported or left out there) or
    ``readable(path)`` (nothing left out), or passes ``unless=(path, ...)`` to ``add``; so a
    problem about something already reported is not reported again.
    """

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.warnings: list[Problem] = []
        self.dropped = 0  # problems beyond MAX_PROBLEMS, counted but not kept
        self._reported: set[str] = set()  # the kept problems' JSON paths and their ancestors
        self._unread: set[str] = set()  # the same for the values the parser left out

    def add(self, path: str, message: str, hint: str = "", *, unless: Iterable[str] = ()) -> None:
        """Record a problem, unless one of the ``unless`` paths is not ``clean`` (an echo)."""
        if not all(self.clean(other) for other in unless):
            return
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(path, message, hint))
            self._reported.update(_ancestors(path))
        else:
            self.dropped += 1

    def unread(self, path: str) -> None:
        """The value at ``path`` was left out; its problem is reported (there or at a parent)."""
        if not self.dropped:  # beyond the limit nothing is readable anyway: keep memory bounded
            self._unread.update(_ancestors(path))

    def readable(self, path: str) -> bool:
        """Nothing at ``path`` or under it was left out.

        Beyond ``MAX_PROBLEMS`` nothing is readable or clean any more: the config is junk, and
        a further check would only add echoes that are not shown anyway.
        """
        return not self.dropped and path not in self._unread

    def clean(self, path: str) -> bool:
        """Nothing was reported or left out at ``path`` or under it."""
        return self.readable(path) and path not in self._reported

    def warn(self, path: str, message: str, hint: str = "") -> None:
        """Something converted with a difference the user should know about."""
        warning = Problem(path, message, hint)
        self.warnings.append(warning)
        LOGGER.warning("warning: %s", warning)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items) + self.dropped

    def raise_if_any(self, source: str) -> None:
        if self.items:
            raise ConfigError(source, self.items, self.dropped)


def _ancestors(path: str) -> set[str]:
    """``a.b[0].c`` -> ``{"a", "a.b", "a.b[0]", "a.b[0].c", "(top level)"}``: every path it is
    under. (A cut inside a quoted key gives a prefix no real path equals.)"""
    found = {path, TOP}
    found.update(path[:i] for i, char in enumerate(path) if char in ".[" and i)
    return found
