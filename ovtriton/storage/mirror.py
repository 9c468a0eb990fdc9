"""A local mirror of what an OVMS config serves from object storage (KServe's storage initializer).

The config (local or remote) is read; every remote ``base_path`` (model folders or single model
files, and custom node libraries) is copied into a new *generation* folder of the cache, only
the version folders ``model_version_policy`` serves (the others become empty folders, so the
converter still sees which versions exist); the config is rewritten with the local paths and
the converter reads it as any local config. ``sync`` repeats this when the remote config or a
model's objects changed (ETag/size/time listing), reusing unchanged files of the previous
generation. Converted repositories copy the files, so they never depend on the cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Optional, Union

from ovtriton.backend.model_files import SINGLE_FILE_KINDS, companion
from ovtriton.converter.schema import MAX_CONFIG_BYTES, load_document

from .errors import StorageError, storage_errors
from .filesystem import file_entries, open_filesystem, version_tag
from .urls import RemoteUrl, is_remote, parse_url

LOGGER = logging.getLogger(__name__)

Source = Union[str, Path]


@dataclass
class Mirror:
    """Keeps ``cache/config.json`` and the models it names in step with ``source``."""

    source: str  # the config as the user named it: a path or a URL
    cache: Path
    _generation: int = field(default=0, init=False)
    _fingerprint: str = field(default="", init=False)
    _remotes: dict[RemoteUrl, bool] = field(default_factory=dict, init=False)  # -> is a file
    _files: dict[str, tuple[str, Path]] = field(default_factory=dict, init=False)

    @property
    def config_path(self) -> Path:
        return self.cache / "config.json"

    def sync(self) -> bool:
        """Mirror again if anything changed; True when ``config_path`` was rewritten.

        StorageError (and ConfigError for an unreadable config) leave the last mirror as it was.
        """
        if self._fingerprint and self._fingerprint_now() == self._fingerprint:
            return False
        self._generation += 1
        folder = self.cache / f"gen-{self._generation}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        try:
            config_tag = self._config_tag()  # before reading: a later change is seen next time
            document = self._localize(folder)
            staged = folder / "config.json"
            staged.write_text(json.dumps(document, indent=2), encoding="utf-8")
            os.replace(staged, self.config_path)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self._fingerprint = self._digest(config_tag, self._listings)
        self._prune()
        LOGGER.info("mirrored %s into %s", self.source, folder)
        return True

    # -- reading --------------------------------------------------------------------------

    def _config_url(self) -> Optional[RemoteUrl]:
        return parse_url(self.source) if is_remote(self.source) else None

    def _read_config(self) -> bytes:
        url = self._config_url()
        if url is None:
            try:
                with open(self.source, "rb") as stream:
                    return stream.read(MAX_CONFIG_BYTES + 1)
            except OSError as exc:
                raise StorageError(self.source, f"cannot read: {exc.strerror or exc}") from None
        fs = open_filesystem(url)
        with storage_errors(url, "cannot read the config"):
            size = fs.info(url.path).get("size") or 0
            if size > MAX_CONFIG_BYTES:
                raise StorageError(url, f"{size} bytes: too large for a config")
            return bytes(fs.cat_file(url.path))

    def _config_tag(self) -> str:
        url = self._config_url()
        if url is None:
            return hashlib.sha256(self._read_config()).hexdigest()
        with storage_errors(url, "cannot read the config"):
            return version_tag(open_filesystem(url).info(url.path))

    def _fingerprint_now(self) -> str:
        """The config's tag and the listing of every remote the last mirror read."""
        listings = {}
        for remote, is_file in self._remotes.items():
            fs = open_filesystem(remote)
            if is_file:
                with storage_errors(remote, "cannot read"):
                    listings[str(remote)] = {"": fs.info(remote.path)}
            else:
                listings[str(remote)] = file_entries(fs, remote)
        return self._digest(self._config_tag(), listings)

    @staticmethod
    def _digest(config_tag: str, listings: dict[str, dict[str, dict[str, Any]]]) -> str:
        digest = hashlib.sha256(config_tag.encode())
        for remote in sorted(listings):
            for name in sorted(listings[remote]):
                tag = version_tag(listings[remote][name])
                digest.update(f"{remote}\0{name}\0{tag}\0".encode())
        return digest.hexdigest()

    # -- mirroring ------------------------------------------------------------------------

    def _localize(self, folder: Path) -> Any:
        name = parse_url(self.source).name if is_remote(self.source) else str(self.source)
        document = load_document(Path(name or "config.json"), self._read_config())
        self._listings: dict[str, dict[str, dict[str, Any]]] = {}
        self._new_remotes: dict[RemoteUrl, bool] = {}
        files: dict[str, tuple[str, Path]] = {}
        for i, item, kind in _base_paths(document):
            url = self._remote(item["base_path"])
            if url is None:
                local = Path(item["base_path"])
                if not local.is_absolute() and ".." not in local.parts:
                    base = Path(os.path.abspath(self.source)).parent
                    item["base_path"] = str(base / local)  # the cache is elsewhere
                continue
            if kind == "library":
                target = folder / "libraries" / f"{i}-{url.name}"
                self._download(url, {"": url}, target.parent, files, rename={"": target})
                item["base_path"] = str(target)
            else:
                policy = item.get("model_version_policy")
                item["base_path"] = str(self._model(url, policy, folder / "models" / str(i), files))
        self._remotes, self._files = self._new_remotes, files
        return document

    def _remote(self, text: str) -> Optional[RemoteUrl]:
        if is_remote(text):
            return parse_url(text)
        config = self._config_url()
        if config is not None and not text.startswith("/"):
            return config.parent().child(text)  # relative to a remote config's folder
        return None

    def _model(
        self, url: RemoteUrl, policy: Any, target: Path, files: dict[str, tuple[str, Path]]
    ) -> Path:
        fs = open_filesystem(url)
        if PurePosixPath(url.key).suffix in SINGLE_FILE_KINDS:  # base_path names a model file
            wanted = {url.name: url}
            other = companion(Path(url.name))
            if other is not None:
                wanted[other.name] = url.parent().child(other.name)
            self._download(url, wanted, target, files)
            return target / url.name
        listing = file_entries(fs, url)
        self._listings[str(url)] = listing
        self._new_remotes[url] = False
        if not listing:
            raise StorageError(url, "no such folder, or it is empty", "check base_path")
        versions: dict[str, list[str]] = {}
        for rel in listing:
            parts = PurePosixPath(rel).parts
            if ".." in parts:
                continue
            if len(parts) == 1 and rel == "graph.pbtxt":  # the converter names MediaPipe graphs
                versions.setdefault("", []).append(rel)
            elif len(parts) > 1 and parts[0].isascii() and parts[0].isdigit() and int(parts[0]) > 0:
                versions.setdefault(parts[0], []).append(rel)
        served = set(_served(policy, [v for v in versions if v]))
        for version in sorted(served):
            _check_complete(url, version, versions[version], listing)
        wanted = {}
        for version, names in versions.items():
            (target / version).mkdir(parents=True, exist_ok=True)
            if version in served or version == "":
                wanted.update({rel: url.child(rel) for rel in names})
        self._download(url, wanted, target, files, listing=listing)
        return target

    def _download(
        self,
        base: RemoteUrl,
        wanted: dict[str, RemoteUrl],
        target: Path,
        files: dict[str, tuple[str, Path]],
        listing: Optional[dict[str, dict[str, Any]]] = None,
        rename: Optional[dict[str, Path]] = None,
    ) -> None:
        """Fetch ``wanted`` (relative path -> URL) into ``target``; unchanged files are linked
        from the previous generation instead."""
        fs = open_filesystem(base)
        remote, local = [], []
        for rel, url in sorted(wanted.items()):
            path = (rename or {}).get(rel) or target.joinpath(*PurePosixPath(rel or url.name).parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            if listing is None:
                with storage_errors(url, "cannot read"):
                    info = fs.info(url.path)
                self._listings[str(url)] = {"": info}
                self._new_remotes[url] = True
            else:
                info = listing[rel]
            tag = version_tag(info)
            files[str(url)] = (tag, path)
            previous = self._files.get(str(url))
            if previous and previous[0] == tag and previous[1].is_file():
                _link(previous[1], path)
            else:
                remote.append(url.path)
                local.append(str(path))
        if remote:
            LOGGER.debug("downloading %d object(s) of %s", len(remote), base)
            with storage_errors(base, "cannot download"):
                fs.get(remote, local)

    def _prune(self) -> None:
        """Keep this generation and the one before (a conversion may still read it)."""
        for old in self.cache.glob("gen-*"):
            number = old.name[4:]
            if number.isdigit() and int(number) < self._generation - 1:
                shutil.rmtree(old, ignore_errors=True)


def _base_paths(document: Any) -> list[tuple[int, dict, str]]:
    """(index, object, "model" or "library") of every object with a base_path in the config."""
    found: list[tuple[int, dict, str]] = []
    if not isinstance(document, dict):
        return found
    for key, inner, kind in (
        ("model_config_list", "config", "model"),
        ("custom_node_library_config_list", None, "library"),
    ):
        items = document.get(key)
        for i, item in enumerate(items if isinstance(items, list) else []):
            obj = item.get(inner) if inner and isinstance(item, dict) else item
            if isinstance(obj, dict) and isinstance(obj.get("base_path"), str):
                found.append((i, obj, kind))
    return found


def _served(policy: Any, available: list[str]) -> list[str]:
    """The version folders ``model_version_policy`` serves (all when it is malformed)."""
    ordered = sorted(available, key=int)
    if not isinstance(policy, dict) or len(policy) != 1:
        return ordered[-1:] if policy is None else ordered
    kind, body = next(iter(policy.items()))
    body = body if isinstance(body, dict) else {}
    if kind == "latest" and isinstance(body.get("num_versions"), int) and body["num_versions"] > 0:
        return ordered[-body["num_versions"] :]
    if kind == "specific" and isinstance(body.get("versions"), list):
        wanted = {v for v in body["versions"] if isinstance(v, int)}
        return [v for v in ordered if int(v) in wanted]
    return ordered


def _check_complete(
    url: RemoteUrl, version: str, names: list[str], listing: dict[str, dict[str, Any]]
) -> None:
    """StorageError for a served ``model.xml`` without ``model.bin``: an upload in progress."""
    for rel in names:
        other = companion(Path(rel))
        if other is not None and other.as_posix() not in listing:
            raise StorageError(
                url.child(version),
                f"version {version} is incomplete: {PurePosixPath(rel).name} without "
                f"{other.name} (an upload in progress?)",
                "upload a model's files before the config that names it; serve --watch retries "
                "at its next poll",
            )


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def needs_mirror(source: Source) -> bool:
    """Whether ``source`` is remote or a local config naming a remote base_path."""
    if is_remote(str(source)):
        return True
    try:
        document = load_document(Path(source))
    except Exception:  # the converter reports what is wrong with the file
        return False
    return any(is_remote(obj.get("base_path")) for _, obj, _ in _base_paths(document))
