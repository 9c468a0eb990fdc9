"""Where a model's files are: ``base_path`` resolved, version folders found, the policy applied.

Symlinks below a base path may point anywhere inside it; one that leads out of it (a version
folder or a file linked to /etc, say) is refused unless ``follow_symlinks`` says otherwise,
so a model folder cannot make the converter link or copy files from elsewhere. The base path
itself, named in the config, may be a symlink.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ovtriton.backend.model_files import SINGLE_FILE_KINDS, companion

from .errors import Problems
from .ovms import ModelEntry, VersionPolicy

LOGGER = logging.getLogger(__name__)

REMOTE_SCHEMES = ("s3://", "gs://", "az://", "azfs://", "azure://", "http://", "https://")
MAX_VERSION = 2**63 - 1  # versions are int64 in OVMS and Triton


@dataclass(frozen=True)
class VersionSource:
    """One served version: its folder (or single model file) and the files to place."""

    number: int
    folder: Path
    files: tuple[tuple[PurePosixPath, Path], ...]  # (path inside the version folder, source)
    model_file: Path | None = None  # set when base_path names a single model file


def resolve_base_path(entry: ModelEntry, config_dir: Path, problems: Problems) -> Path | None:
    where = f"{entry.path}.base_path"
    text = entry.base_path.strip()
    if text.lower().startswith(REMOTE_SCHEMES):
        problems.add(
            where,
            f"remote base_path {text!r} is read through a local mirror",
            "use `ovtriton convert` or `ovtriton serve` (they mirror it), or "
            "ovtriton.storage.session.localize before plan()",
        )
        return None
    if ".." in Path(text).parts:
        problems.add(
            where,
            f"base_path {text!r} escapes with '..'",
            "OVMS forbids '..' too (PATH_INVALID); write the path without '..'",
        )
        return None
    path = Path(text) if Path(text).is_absolute() else config_dir / text
    if not path.exists():
        problems.add(
            where, f"{path} does not exist", "relative paths are read from the config file's folder"
        )
        return None
    return path


def find_versions(
    entry: ModelEntry, config_dir: Path, problems: Problems, follow_symlinks: bool = False
) -> list[VersionSource]:
    """The versions the policy serves, lowest first; [] after recording a problem."""
    where = f"{entry.path}.base_path"
    base = resolve_base_path(entry, config_dir, problems)
    if base is None:
        return []
    try:
        if base.is_file():
            return _single_file(entry, base, problems, follow_symlinks)
        return _version_folders(entry, base, problems, follow_symlinks)
    except OSError as exc:
        problems.add(where, f"cannot read {exc.filename or base}: {exc.strerror or exc}")
        return []


def _version_folders(
    entry: ModelEntry, base: Path, problems: Problems, follow_symlinks: bool
) -> list[VersionSource]:
    where = f"{entry.path}.base_path"
    if (base / "graph.pbtxt").exists() or (base / "1" / "graph.pbtxt").exists():
        problems.add(
            where,
            f"{base} holds graph.pbtxt, a MediaPipe graph; not supported by ovtriton yet",
            "serve the graph's models one by one",
        )
        return []
    found: dict[int, Path] = {}
    for child in sorted(base.iterdir()):
        if not child.is_dir():
            continue
        if not child.name.isascii() or not child.name.isdigit():
            LOGGER.debug("%s: skipping %s, not a version folder", entry.name, child)
            continue
        number = int(child.name)
        if number > MAX_VERSION:
            problems.warn(where, f"skipped folder {child.name!r}: above {MAX_VERSION}")
            continue
        if number <= 0:
            problems.warn(where, f"skipped folder {child.name!r}: versions start at 1 (as in OVMS)")
            continue
        if number in found:
            problems.add(
                where,
                f"folders {found[number].name!r} and {child.name!r} are both version {number}",
                "keep one of them",
            )
            return []
        found[number] = child
    if not found:
        problems.add(
            where,
            f"no version folder in {base}",
            "put the model files in a numbered folder, e.g. 1/model.xml",
        )
        return []
    numbers = _select(entry.version_policy, sorted(found), entry, problems)
    root = None if follow_symlinks else Path(os.path.realpath(base))
    versions = [
        VersionSource(n, found[n], _files(found[n], root, problems, where)) for n in numbers
    ]
    return versions if problems.clean(where) else []  # else a symlink out of base_path


def _select(
    policy: VersionPolicy, available: list[int], entry: ModelEntry, problems: Problems
) -> list[int]:
    where = f"{entry.path}.model_version_policy"
    if policy.kind == "all":
        return available
    if policy.kind == "latest":
        return available[-policy.num_versions :]
    missing = [v for v in policy.versions if v not in available]
    chosen = [v for v in policy.versions if v in available]
    if missing and chosen:
        problems.warn(where, f"version(s) {missing} do not exist; serving {chosen} (as OVMS does)")
    if not chosen:
        problems.add(
            where,
            f"none of the versions {list(policy.versions)} exists; available: {available}",
            "list existing versions",
        )
    return chosen


def _single_file(
    entry: ModelEntry, path: Path, problems: Problems, follow_symlinks: bool
) -> list[VersionSource]:
    where = f"{entry.path}.base_path"
    if path.suffix not in SINGLE_FILE_KINDS:
        problems.add(
            where,
            f"{path.name} is not a model file",
            f"use a folder of versions, or a {', '.join(SINGLE_FILE_KINDS)} file",
        )
        return []
    files = [(PurePosixPath(path.name), path)]
    other = companion(path)
    if other is not None:
        if not other.is_file():
            problems.add(where, f"{path.name} needs {other.name} beside it")
            return []
        root = Path(os.path.realpath(path.parent))
        if not follow_symlinks and not _inside(other, root):
            _escape(other, problems, where)
            return []
        files.append((PurePosixPath(other.name), other))
    return [VersionSource(1, path.parent, tuple(files), model_file=path)]


def _inside(path: Path, root: Path) -> bool:
    real = Path(os.path.realpath(path))  # realpath, unlike Path.resolve, never raises on loops
    return real == root or root in real.parents


def _escape(path: Path, problems: Problems, where: str) -> None:
    problems.add(
        where,
        f"{path} is a symlink leading out of the base path, to {os.path.realpath(path)}",
        "copy the file into the base path, or pass --follow-symlinks to read it anyway",
    )


def _files(
    folder: Path, root: Path | None, problems: Problems, where: str
) -> tuple[tuple[PurePosixPath, Path], ...]:
    """Every file under a version folder (SavedModels have subfolders), in a stable order.

    With a ``root``, anything whose real path is outside it is reported instead of read.
    Symlinked folders are walked once each, so a symlink loop ends.
    """
    found: list[tuple[PurePosixPath, Path]] = []
    walked: set[str] = set()

    def walk(directory: Path, rel: tuple[str, ...]) -> None:
        if root is not None and not _inside(directory, root):
            _escape(directory, problems, where)
            return
        real = os.path.realpath(directory)
        if real in walked:
            return
        walked.add(real)
        for child in sorted(directory.iterdir()):
            if child.is_dir():
                walk(child, (*rel, child.name))
            elif child.is_file():
                if root is not None and not _inside(child, root):
                    _escape(child, problems, where)
                else:
                    found.append((PurePosixPath(*rel, child.name), child))

    walk(folder, ())
    return tuple(found)
