"""Reading config.json (or YAML) and checking each value's type and keys, with JSON paths.

``Reader`` records a ``Problem`` for every bad value and returns ``None`` for it, so one pass
over the document finds all problems. ``parse.py`` uses it to build the dataclasses of
``ovms.py``.
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .errors import ConfigError, PathPart, Problem, Problems, json_path

LOGGER = logging.getLogger(__name__)

T = TypeVar("T")
YAML_SUFFIXES = (".yaml", ".yml")
MAX_CONFIG_BYTES = 16 << 20  # 16 MiB: real configs are a few KiB; this bounds memory and time


def load_document(path: Path, data: bytes | None = None) -> Any:
    """The parsed JSON (or, for .yaml/.yml, YAML) document; ``ConfigError`` when unreadable.

    YAML is read with PyYAML's safe loader only: tags such as ``!!python/object`` are errors,
    never constructed. Files above ``MAX_CONFIG_BYTES`` are refused before parsing. ``data``:
    the file's bytes as already read (``serve --watch`` parses exactly what it fingerprinted);
    ``path`` then only names the file and its format.
    """

    def fail(message: str, hint: str = "") -> ConfigError:
        return ConfigError(str(path), [Problem("(file)", message, hint)])

    text = _decode(_read_bytes(path, fail) if data is None else data, fail)
    try:
        if path.suffix.lower() in YAML_SUFFIXES:
            try:
                return yaml.load(text, Loader=_UniqueKeyLoader)
            except yaml.YAMLError as exc:
                raise fail(f"not valid YAML: {exc}", "fix the syntax") from None
        try:
            return json.loads(text, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as exc:
            raise fail(
                f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                "fix the syntax; YAML is read only from files ending in .yaml or .yml",
            ) from None
        except ValueError as exc:  # a duplicate key
            raise fail(str(exc), "keep one of them") from None
    except RecursionError:
        raise fail(
            "nested too deeply to read", "an OVMS config needs a handful of levels"
        ) from None


def _read_bytes(path: Path, fail: Callable[..., ConfigError]) -> bytes:
    """The file's first ``MAX_CONFIG_BYTES`` + 1 bytes."""
    try:
        with path.open("rb") as stream:  # read with a bound: st_size is 0 for /dev/zero or pipes
            data = stream.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise fail("the config file does not exist") from None
    except IsADirectoryError:
        raise fail("is a folder, not a config file", "name the config.json inside it") from None
    except OSError as exc:
        raise fail(f"cannot be read: {exc.strerror or exc}") from None
    return data


def _decode(data: bytes, fail: Callable[..., ConfigError]) -> str:
    """The file as text: UTF-8 (a byte-order mark is allowed), at most ``MAX_CONFIG_BYTES``."""
    if len(data) > MAX_CONFIG_BYTES:
        raise fail(
            f"larger than {MAX_CONFIG_BYTES // (1 << 20)} MiB; not an OVMS config",
            "an OVMS config lists models and pipelines; model files stay in their base paths",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise fail(
            f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}",
            "save the file as UTF-8",
        ) from None


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
            if not isinstance(key, str):  # YAML allows numbers, booleans, null as keys
                self.add(parts, f"key {key!r} is not a string", "quote it")
            elif not self.text(key, [*parts, key]):
                continue
            elif key in unsupported:
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
                self.missing(parts, key)
        return value

    def missing(self, parts: Sequence[PathPart], key: str, hint: str = "") -> None:
        """A required key is absent: the problem names the object, the key is left unread."""
        self.add(parts, f"missing required key {key!r}", hint)
        self.problems.unread(json_path(*parts, key))

    def each(
        self,
        value: Any,
        parts: Sequence[PathPart],
        read_one: Callable[[Any, list[PathPart]], T | None],
    ) -> list[T]:
        """The entries of an array that ``read_one`` could read; each entry it could not (and
        the array itself, when it is none) is filed as unread."""
        items = self.array(value, parts)
        if items is None:
            self.problems.unread(json_path(*parts))
            return []
        found = []
        for index, item in enumerate(items):
            one = read_one(item, [*parts, index])
            if one is None:
                self.problems.unread(json_path(*parts, index))
            else:
                found.append(one)
        return found

    def array(self, value: Any, parts: Sequence[PathPart]) -> list[Any] | None:
        if not isinstance(value, list):
            self.add(parts, f"expected an array, got {_type_name(value)}")
            return None
        return value

    def string(self, value: Any, parts: Sequence[PathPart], *, nonempty: bool = True) -> str | None:
        if not isinstance(value, str):
            self.add(parts, f"expected a string, got {_type_name(value)}")
            return None
        if not self.text(value, parts):
            return None
        if nonempty and not value.strip():
            self.add(parts, "must not be empty")
            return None
        return value

    def text(self, value: str, parts: Sequence[PathPart]) -> bool:
        """False (and a problem) for text no file or protobuf can hold: lone surrogates, NUL."""
        if "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value):
            self.add(
                parts,
                f"{value!r} holds a NUL character or a lone UTF-16 surrogate",
                "use plain text (JSON escapes such as \\ud800 do not stand for a character)",
            )
            return False
        return True

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
        if isinstance(value, dict) and len(value) == 1 and not isinstance(next(iter(value)), str):
            self.add(parts, f"key {next(iter(value))!r} is not a string", "quote it")
            return None
        if isinstance(value, dict) and len(value) == 1 and not self.text(next(iter(value)), parts):
            return None
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
