"""Writing the Triton model repository: atomically, linking model files unless asked to copy.

Everything is built in a temporary folder next to the target and renamed into place at the
end, so the target holds either the old repository or the complete new one, never a mix.
Input files are only ever read: hardlinks share their data but writing through them never
happens (the backend only reads), and ``--force`` removes links, not what they point to.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ovtriton.errors import UserError

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedFile:
    """A file of the new repository: linked or copied from ``source``, or written from ``data``."""

    relpath: PurePosixPath  # relative to the model folder, e.g. 1/model.xml
    source: Path | None = None
    data: bytes | None = None

    def fingerprint(self) -> str:
        """Cheap identity for change detection: size and mtime of a source, hash of data."""
        if self.data is not None:
            return f"{self.relpath}:data:{hashlib.sha256(self.data).hexdigest()}"
        if self.source is None:
            return f"{self.relpath}:empty"
        stat = self.source.stat()
        return f"{self.relpath}:{self.source}:{stat.st_size}:{stat.st_mtime_ns}"


@dataclass(frozen=True)
class PlannedModel:
    """One folder of the repository: config.pbtxt, version folders and their files."""

    name: str
    kind: str  # "model", "ensemble" or "pipeline" (a pipeline model)
    config_text: str
    versions: tuple[int, ...]
    files: tuple[PlannedFile, ...]

    digest: str = field(default="", compare=False)  # computed when planned, see __post_init__

    def __post_init__(self) -> None:
        """Fix the digest now: it changes whenever config.pbtxt or any version file changes."""
        sha = hashlib.sha256(self.config_text.encode())
        for version in self.versions:
            sha.update(f"\nversion {version}".encode())
        for item in self.files:
            sha.update(f"\n{item.fingerprint()}".encode())
        object.__setattr__(self, "digest", sha.hexdigest()[:16])


def check_target(out_dir: Path, force: bool, sources: Iterable[Path]) -> None:
    """Refuse a target that is a file, non-empty (without ``force``) or holds an input."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"output {out_dir} exists and is not a folder; choose another -o")
    target = out_dir.resolve()
    for source in sources:
        resolved = source.resolve()
        if resolved == target or target in resolved.parents:
            raise UserError(
                f"output {out_dir} contains the input {source}; writing there would destroy it. "
                f"Choose an -o outside the OVMS model folders"
            )
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise UserError(f"output {out_dir} exists and is not empty; pass --force to replace it")


def write_repository(
    models: Iterable[PlannedModel], out_dir: Path, *, force: bool, copy: bool
) -> None:
    """Build the repository in a temporary sibling of ``out_dir``, then rename it into place."""
    models = list(models)
    for model in models:  # checked by names.py already; here because this is where it matters
        if not _one_component(model.name) or any(
            not _relative_inside(item.relpath) for item in model.files
        ):
            raise ValueError(f"refusing to write model {model.name!r} outside {out_dir}")
    parent = out_dir.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=parent))
    except OSError as exc:
        raise UserError(f"cannot create {out_dir}: {exc.strerror or exc}") from None
    try:
        for model in models:
            _write_model(model, staging / model.name, copy)
        os.chmod(staging, 0o755)  # mkdtemp makes it 0700
        _swap_into_place(staging, out_dir.resolve(), force)
    except OSError as exc:  # disk full, permissions: the user's to fix, and nothing is left
        shutil.rmtree(staging, ignore_errors=True)
        raise UserError(
            f"cannot write {out_dir}: {exc.strerror or exc}"
            + (f" ({exc.filename})" if exc.filename else "")
            + "; nothing was written"
        ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _one_component(name: str) -> bool:
    """A plain folder name: not empty, not '.' or '..', no separator, no NUL."""
    return name not in ("", ".", "..") and not any(c in name for c in "/\\\0")


def _relative_inside(relpath: PurePosixPath) -> bool:
    return (
        not relpath.is_absolute()
        and ".." not in relpath.parts
        and all(_one_component(part) for part in relpath.parts)
    )


def _write_model(model: PlannedModel, folder: Path, copy: bool) -> None:
    folder.mkdir()
    for version in model.versions:
        (folder / str(version)).mkdir()
    for item in model.files:
        target = folder.joinpath(*item.relpath.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if item.data is not None:
            target.write_bytes(item.data)
        elif item.source is not None:
            _place(item.source, target, copy)
    # config.pbtxt last: a folder with a config is a finished model.
    (folder / "config.pbtxt").write_text(model.config_text, encoding="utf-8")


def _place(source: Path, target: Path, copy: bool) -> None:
    if copy:
        shutil.copy2(source, target)
        return
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EACCES, errno.EMLINK, errno.ENOTSUP):
            raise
        LOGGER.debug("cannot hardlink %s (%s); symlinking", source, exc.strerror)
        os.symlink(source.resolve(), target)


def _swap_into_place(staging: Path, out_dir: Path, force: bool) -> None:
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    if any(out_dir.iterdir()) and not force:  # checked before, but the folder may have changed
        raise UserError(f"output {out_dir} exists and is not empty; pass --force to replace it")
    retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    retired.rmdir()
    out_dir.rename(retired)
    try:
        staging.rename(out_dir)
    except BaseException:
        retired.rename(out_dir)
        raise
    shutil.rmtree(retired, ignore_errors=True)
