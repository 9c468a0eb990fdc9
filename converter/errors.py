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


def json_path(*parts: PathPart) -> str:
    """``("pipeline_config_list", 0, "nodes", 2)`` -> ``pipeline_config_list[0].nodes[2]``.

    Keys that are not identifiers (tensor names such as ``map/TensorArrayStack``) are quoted:
    ``inputs[0]["map/TensorArrayStack"]``.
    """
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(part):
            text += f".{part}" if text else part
        else:
            text += '["' + part.replace("\\", "\\\\").replace('"', '\\"') + '"]'
    return text or "(top level)"


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

    def __init__(self, source: str, problems: Iterable[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = [f"{source}: {count} problem{'s' if count != 1 else ''}, nothing was written:"]
        lines += [f"  {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))

    @property
    def paths(self) -> list[str]:
        return [problem.path for problem in self.problems]


class Problems:
    """Collects problems while a config is read, so all of them can be reported at once."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.warnings: list[Problem] = []

    def add(self, path: str, message: str, hint: str = "") -> None:
        self.items.append(Problem(path, message, hint))

    def warn(self, path: str, message: str, hint: str = "") -> None:
        """Something converted with a difference the user should know about."""
        warning = Problem(path, message, hint)
        self.warnings.append(warning)
        LOGGER.warning("warning: %s", warning)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def raise_if_any(self, source: str) -> None:
        if self.items:
            raise ConfigError(source, self.items)
