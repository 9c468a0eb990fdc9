"""Reading config.json (or YAML) and checking each value's type and keys, with JSON paths.

``Reader`` records a ``Problem`` for every bad value and returns ``None`` for it, so one pass
over the document finds all problems. ``parse.py`` uses it to build the dataclasses of
``ovms.py``.
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, PathPart, Problem, Problems, json_path

LOGGER = logging.getLogger(__name__)

YAML_SUFFIXES = (".yaml", ".yml")


def load_document(path: Path) -> Any:
    """The parsed JSON (or, for .yaml/.yml, YAML) document; ``ConfigError`` when unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            str(path), [Problem("(file)", "the config file does not exist")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [Problem("(file)", f"cannot be read: {exc}")]) from None
    if path.suffix.lower() in YAML_SUFFIXES:
        try:
            return yaml.load(text, Loader=_UniqueKeyLoader)
        except yaml.YAMLError as exc:
            raise ConfigError(
                str(path), [Problem("(file)", f"not valid YAML: {exc}", "fix the syntax")]
            ) from None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            str(path),
            [
                Problem(
                    "(file)",
                    f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                    "fix the syntax; YAML is read only from files ending in .yaml or .yml",
                )
            ],
        ) from None
    except ValueError as exc:  # a duplicate key
        raise ConfigError(str(path), [Problem("(file)", str(exc), "keep one of them")]) from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice in one object")
        result[key] = value
    return result


class _UniqueKeyLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:  # type: ignore[override]
        keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
        for key in keys:
            if keys.count(key) > 1:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }.get(type(value), type(value).__name__)


class Reader:
    """Typed access to the raw document; every mismatch becomes a problem with its JSON path."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems

    def add(self, parts: Sequence[PathPart], message: str, hint: str = "") -> None:
        self.problems.add(json_path(*parts), message, hint)

    def obj(
        self,
        value: Any,
        parts: Sequence[PathPart],
        known: Sequence[str],
        required: Sequence[str] = (),
        unsupported: Mapping[str, str] | None = None,
        rejected: Mapping[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """An object whose keys are ``known``; ``unsupported`` keys are named with a hint."""
        if not isinstance(value, dict):
            self.add(parts, f"expected an object, got {_type_name(value)}")
            return None
        unsupported = unsupported or {}
        rejected = rejected or {}
        for key in value:
            if key in unsupported:
                self.add(
                    [*parts, key], f"{key!r} is not supported by ovtriton yet", unsupported[key]
                )
            elif key in rejected:
                self.add([*parts, key], f"unknown key {key!r}", rejected[key])
            elif key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
                self.add([*parts, key], f"unknown key {key!r}", hint)
        for key in required:
            if key not in value:
                self.add(parts, f"missing required key {key!r}")
        return value

    def array(self, value: Any, parts: Sequence[PathPart]) -> list[Any] | None:
        if not isinstance(value, list):
            self.add(parts, f"expected an array, got {_type_name(value)}")
            return None
        return value

    def string(self, value: Any, parts: Sequence[PathPart], *, nonempty: bool = True) -> str | None:
        if not isinstance(value, str):
            self.add(parts, f"expected a string, got {_type_name(value)}")
            return None
        if nonempty and not value.strip():
            self.add(parts, "must not be empty")
            return None
        return value

    def integer(
        self, value: Any, parts: Sequence[PathPart], minimum: int, maximum: int | None = None
    ) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(parts, f"expected an integer, got {_type_name(value)}")
            return None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            self.add(parts, f"{value} is out of range", f"use an integer {bound}")
            return None
        return value

    def boolean(self, value: Any, parts: Sequence[PathPart]) -> bool | None:
        if not isinstance(value, bool):
            self.add(parts, f"expected true or false, got {_type_name(value)}")
            return None
        return value

    def single_key(
        self, value: Any, parts: Sequence[PathPart], what: str
    ) -> tuple[str, Any] | None:
        """``{"<name>": {...}}``, the shape of OVMS's node inputs and pipeline outputs."""
        if not isinstance(value, dict) or len(value) != 1:
            got = (
                f"an object with {len(value)} keys"
                if isinstance(value, dict)
                else _type_name(value)
            )
            self.add(
                parts,
                f"expected an object with exactly one key ({what}), got {got}",
                'write it as {"<name>": {"node_name": "...", "data_item": "..."}}',
            )
            return None
        return next(iter(value.items()))
