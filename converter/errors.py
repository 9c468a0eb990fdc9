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
        self._reported: list[str] = []  # JSON paths of the problems (kept or not)
        self._unread: list[str] = []  # JSON paths of values the parser left out

    def add(self, path: str, message: str, hint: str = "", *, unless: Iterable[str] = ()) -> None:
        """Record a problem, unless one of the ``unless`` paths is not ``clean`` (an echo)."""
        if not all(self.clean(other) for other in unless):
            return
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(path, message, hint))
            self._reported.append(path)
        else:
            self.dropped += 1

    def unread(self, path: str) -> None:
        """The value at ``path`` was left out; its problem is reported (there or at a parent)."""
        self._unread.append(path)

    def readable(self, path: str) -> bool:
        """Nothing at ``path`` or under it was left out."""
        return not any(_under(unread, path) for unread in self._unread)

    def clean(self, path: str) -> bool:
        """Nothing was reported or left out at ``path`` or under it.

        Beyond ``MAX_PROBLEMS`` nothing is clean any more: the config is junk, and a further
        check would only add echoes that are not shown anyway.
        """
        if self.dropped:
            return False
        return self.readable(path) and not any(_under(seen, path) for seen in self._reported)

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


def _under(path: str, ancestor: str) -> bool:
    """``a.b[0].c`` is under ``a.b`` and ``a.b[0]`` (and under itself); ``a.bc`` is not."""
    if ancestor == TOP or path == ancestor:
        return True
    return path.startswith(ancestor) and path[len(ancestor)] in ".["
