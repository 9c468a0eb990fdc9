"""Model and pipeline names become folder names of the repository: they must be safe and unique.

A name is one path component made of ``[A-Za-z0-9_.-]``, not starting with ``.`` or ``-``,
without ``..`` anywhere, at most ``MAX_NAME`` characters, and not starting with the prefix
reserved for the models the converter generates. So no name can climb out of the output folder,
name a hidden folder or clash with a generated model. ``repository.py`` checks again where it
writes.
"""

from __future__ import annotations

import re

from .errors import Problems
from .identity import IDENTITY_PREFIX
from .ovms import OvmsConfig

SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
MAX_NAME = 200  # bytes in a folder name: 255 on common filesystems; leave room for temp names


def name_problem(name: str) -> tuple[str, str] | None:
    """(message, hint) when ``name`` cannot be a model folder, else None."""
    if not SAFE_NAME.fullmatch(name) or ".." in name:
        return (
            f"name {name!r} cannot be a Triton model folder",
            (
                "use letters, digits, '_', '.' and '-', not starting with '.' or '-', "
                "without '..' (no '/', '\\' or spaces)"
            ),
        )
    if len(name) > MAX_NAME:
        return (f"name is {len(name)} characters long", f"use at most {MAX_NAME}")
    if name.startswith(IDENTITY_PREFIX):
        return (
            f"names starting with {IDENTITY_PREFIX!r} are reserved",
            "ovtriton generates models with such names; rename this one",
        )
    return None


def check_names(config: OvmsConfig, problems: Problems) -> None:
    """Names are Triton model folders: unique across models and pipelines, and safe."""
    seen: dict[str, str] = {}
    for kind, entries in (("model", config.models), ("pipeline", config.pipelines)):
        for entry in entries:
            if not entry.name:  # unreadable, reported already
                continue
            where = f"{entry.path}.name"
            problem = name_problem(entry.name)
            if problem:
                problems.add(where, *problem)
            elif entry.name in seen:
                problems.add(
                    where,
                    f"{kind} name {entry.name!r} is already used at {seen[entry.name]}",
                    "OVMS would load only the first; give each model and pipeline its own name",
                )
            else:
                seen[entry.name] = where
