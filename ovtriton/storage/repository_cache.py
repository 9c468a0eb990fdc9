"""A Triton model repository in object storage, served from a local copy kept in step.

For URLs tritonserver 2.51 cannot read itself (Azure Blob behind a custom endpoint such as
Azurite; ``serve --repository-cache local`` for any URL), ``serve --model-repository URL``
copies the repository into its workdir (as KServe's storage initializer does) and serves
the copy. With ``--watch`` each poll lists the repository again; a model whose objects changed
is copied into a staging folder (``config.pbtxt`` last), swapped in whole and then loaded
(explicit model control); a model whose objects are gone is unloaded and removed. A model whose
listing has no ``config.pbtxt`` (``convert -o`` removes it first and writes it last) or an IR
``model.xml`` without its ``model.bin`` is being uploaded: the local copy is left as it is and
the model is tried again at the next poll, so a half-copied model is never switched to.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping, Optional

from ovtriton.backend.model_files import companion
from ovtriton.errors import UserError

from .errors import StorageError
from .filesystem import file_entries, open_filesystem, version_tag
from .urls import RemoteUrl, parse_url

LOGGER = logging.getLogger(__name__)
CONFIG = "config.pbtxt"
MODES = ("auto", "triton", "local")


def triton_cannot_read(url: str, env: Mapping[str, str]) -> Optional[str]:
    """Why tritonserver 2.51 cannot read ``url`` itself (None: it can)."""
    scheme = url.split("://", 1)[0].lower()
    connection = env.get("AZURE_STORAGE_CONNECTION_STRING", "")
    if scheme == "az" and "blobendpoint=" in connection.lower():
        return "the Azure connection string names a custom BlobEndpoint"
    return None


def use_local_cache(mode: str, url: str, env: Mapping[str, str]) -> bool:
    """``--repository-cache``: local for ``local``, or for ``auto`` when Triton cannot read it."""
    if mode == "local":
        return True
    reason = triton_cannot_read(url, env)
    if reason and mode == "triton":
        raise UserError(
            f"model repository {url}: {reason}, which tritonserver 2.51 cannot read; use "
            "--repository-cache local (or auto)"
        )
    if reason:
        LOGGER.info("%s: %s; serving a local copy kept in step by ovtriton", url, reason)
    return bool(reason)


@dataclass
class RepositoryCache:
    """``repository`` (a local folder) kept in step with the repository at ``url``."""

    url: str
    repository: Path
    last_error: str = field(default="", init=False)
    # Called with a model's name before its folder leaves the repository (as ConfigWatcher).
    on_retire: Optional[Callable[[str], None]] = field(default=None, init=False)
    _tags: dict[str, str] = field(default_factory=dict, init=False)  # model -> objects' digest

    @property
    def config_path(self) -> str:  # what serve says it watches
        return self.url

    def sync(self) -> tuple[set[str], set[str]]:
        """Copy what changed; (models switched to a new copy, models removed)."""
        remote = parse_url(self.url)
        fs = open_filesystem(remote)
        models: dict[str, dict[str, dict[str, Any]]] = {}
        for rel, info in file_entries(fs, remote).items():
            name, _, inner = rel.partition("/")
            if inner:  # files at the top of the repository are not models
                models.setdefault(name, {})[inner] = info
        if not models and not self._tags:
            raise StorageError(remote, "no models there (an empty or missing repository)")
        switched: set[str] = set()
        for name, entries in sorted(models.items()):
            tag = _digest(entries)
            if self._tags.get(name) == tag:
                continue
            missing = _incomplete(entries)
            if missing:
                LOGGER.warning("%s/%s is %s; keeping its previous copy", self.url, name, missing)
                continue
            self._copy(fs, remote.child(name), name, entries)
            self._tags[name] = tag
            switched.add(name)
        removed = {n for n in self._tags if n not in models}
        for name in removed:
            if self.on_retire is not None:
                self.on_retire(name)
            shutil.rmtree(self.repository / name, ignore_errors=True)
            del self._tags[name]
        return switched, removed

    def _copy(self, fs: Any, url: RemoteUrl, name: str, entries: dict[str, Any]) -> None:
        """Copy one model into staging, ``config.pbtxt`` last, then swap the folder in."""
        staging = self.repository.parent / f".{self.repository.name}.staging" / name
        shutil.rmtree(staging, ignore_errors=True)
        order = sorted(entries, key=lambda rel: (rel == CONFIG, rel))
        for rel in order:
            if ".." in PurePosixPath(rel).parts:
                raise StorageError(url.child(rel), "an object name with '..'")
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
        try:
            fs.get([url.child(rel).path for rel in order], [str(staging / r) for r in order])
        except Exception as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise StorageError(url, f"cannot download: {type(exc).__name__}") from None
        live, old = self.repository / name, staging.parent / f".{name}.old"
        shutil.rmtree(old, ignore_errors=True)
        self.repository.mkdir(parents=True, exist_ok=True)
        if live.exists():
            live.rename(old)
        staging.rename(live)
        shutil.rmtree(old, ignore_errors=True)
        LOGGER.info("copied %s (%d object(s)) into %s", url, len(order), live)

    def poll(self, load: Callable[[str], None], unload: Callable[[str], None]) -> bool:
        """``serve --watch``'s poll: sync, then load switched and unload removed models."""
        try:
            switched, removed = self.sync()
        except UserError as exc:
            if str(exc) != self.last_error:
                LOGGER.error("%s; the previous repository keeps serving, retrying", exc)
            self.last_error = str(exc)
            return False
        self.last_error = ""
        for name in sorted(removed):
            unload(name)
        for name in sorted(switched, key=_ensembles_last(self.repository)):
            load(name)
        return bool(switched or removed)


def _digest(entries: dict[str, dict[str, Any]]) -> str:
    digest = hashlib.sha256()
    for rel in sorted(entries):
        digest.update(f"{rel}\0{version_tag(entries[rel])}\0".encode())
    return digest.hexdigest()


def _incomplete(entries: dict[str, dict[str, Any]]) -> str:
    """Why a model's objects are not a whole model yet ('' when they are)."""
    if CONFIG not in entries:
        return f"without {CONFIG} (being uploaded?)"
    for rel in entries:
        other = companion(Path(rel))
        if other is not None and other.as_posix() not in entries:
            return f"incomplete: {rel} without {other.name} (being uploaded?)"
    return ""


def _ensembles_last(repository: Path) -> Callable[[str], tuple[bool, str]]:
    def key(name: str) -> tuple[bool, str]:
        try:
            text = (repository / name / CONFIG).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return (False, name)
        return ('platform: "ensemble"' in text, name)

    return key
