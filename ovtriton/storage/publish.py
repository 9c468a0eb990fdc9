"""Upload a converted Triton repository to object storage; a reader never sees half a model.

Per model: its old ``config.pbtxt`` goes first (Triton no longer sees a model there), then its
old objects; the new version folders are uploaded, then the new ``config.pbtxt`` last. Composing
models go before the ensembles that use them; models that are gone are removed ensembles first.
Object storage has no empty folders, so an empty version folder (an ensemble's) gets a
``.keep`` marker object, as Triton must find the folder to load the version.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .errors import StorageError, storage_errors
from .filesystem import file_entries, open_filesystem
from .urls import RemoteUrl

LOGGER = logging.getLogger(__name__)

MARKER = ".keep"
CONFIG = "config.pbtxt"


def check_empty(url: RemoteUrl, force: bool) -> dict[str, dict[str, Any]]:
    """The objects already under ``url``; StorageError unless it is empty or ``force``."""
    existing = file_entries(open_filesystem(url), url)
    if existing and not force:
        raise StorageError(
            url, f"not empty ({len(existing)} object(s))", "pass --force to replace its models"
        )
    return existing


def publish(local: Path, url: RemoteUrl, force: bool = False) -> int:
    """Upload the repository folder ``local`` to ``url``; returns the objects written."""
    existing = check_empty(url, force)
    fs = open_filesystem(url)
    models = sorted(p.name for p in local.iterdir() if p.is_dir())
    is_ensemble = {name: _is_ensemble(local / name) for name in models}
    old: dict[str, list[str]] = {}
    for rel in existing:
        old.setdefault(rel.split("/", 1)[0], []).append(rel)
    gone = sorted(set(old) - set(models), key=lambda n: not _mentions_ensemble(old[n]))
    for name in gone:
        _remove(fs, url, old[name])
    written = 0
    for name in sorted(models, key=lambda n: is_ensemble[n]):
        _remove(fs, url, old.get(name, []))
        written += _upload_model(fs, local / name, url.child(name))
    LOGGER.info("uploaded %d object(s) for %d model(s) to %s", written, len(models), url)
    return written


def _upload_model(fs: Any, folder: Path, url: RemoteUrl) -> int:
    sources, targets = [], []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and rel != CONFIG:
            sources.append(str(path))
            targets.append(url.child(rel).path)
        elif path.is_dir() and not any(path.iterdir()):
            marker = path / MARKER
            marker.touch()
            sources.append(str(marker))
            targets.append(url.child(f"{rel}/{MARKER}").path)
    with storage_errors(url, "cannot upload"):
        if sources:
            fs.put(sources, targets)
        if (folder / CONFIG).is_file():
            fs.put_file(str(folder / CONFIG), url.child(CONFIG).path)  # last: the model appears
    return len(sources) + 1


def _remove(fs: Any, url: RemoteUrl, rels: list[str]) -> None:
    if not rels:
        return
    first = [r for r in rels if r.endswith("/" + CONFIG)]
    rest = [r for r in rels if r not in first]
    with storage_errors(url, "cannot remove old objects"):
        for group in (first, rest):  # config.pbtxt first: the model disappears at once
            if group:
                fs.rm([url.child(r).path for r in group])


def _is_ensemble(folder: Path) -> bool:
    config = folder / CONFIG
    return config.is_file() and 'platform: "ensemble"' in config.read_text(encoding="utf-8")


def _mentions_ensemble(rels: list[str]) -> bool:
    return any(r.endswith(f"/{MARKER}") for r in rels)
