"""The Docker build context as `docker build .` would send it, laid out without Docker.

The Docker SDK's ``exclude_paths`` applies .dockerignore with the engine's rules (including its
quirk: an excluded folder is walked into only for a `!` pattern that spells its path).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from docker.utils.build import exclude_paths

ROOT = Path(__file__).resolve().parents[2]


def patterns(root: Path = ROOT) -> list[str]:
    lines = (root / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def context_paths(root: Path = ROOT) -> set[str]:
    """Every file, folder and symlink of the context, relative to ``root``."""
    return set(exclude_paths(str(root), patterns(root)))


def copy_context(dest: Path, root: Path = ROOT) -> Path:
    """Copy the context of ``root`` into ``dest`` (symlinks stay symlinks)."""
    for rel in sorted(context_paths(root)):
        source, target = root / rel, dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
        elif source.is_dir():
            target.mkdir(exist_ok=True)
        else:
            shutil.copy2(source, target)
    return dest
