"""Serve an OVMS config: convert it into a managed repository and follow its changes.

Like OVMS, the config file and the version folders of its models are checked for changes (a
new or removed version folder counts; edits inside an existing one do not), and a changed config
is validated first; when it is invalid the problems are logged and
the models already loaded keep serving. When it is valid, the repository is rewritten
(atomically) and Triton (in explicit model-control mode) loads only what changed, unloads
what is gone: composing models before the ensembles that use them, and the reverse on unload.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from ovtriton.converter import ConfigError, ConversionPlan, convert, plan
from ovtriton.errors import UserError

LOGGER = logging.getLogger(__name__)


@dataclass
class ConfigWatcher:
    """Keeps ``repository`` in step with the OVMS config at ``config_path``."""

    config_path: Path
    repository: Path
    copy: bool = False
    follow_symlinks: bool = False
    current: Optional[ConversionPlan] = field(default=None, init=False)
    _fingerprint: bytes = field(default=b"", init=False)

    def convert_initial(self) -> ConversionPlan:
        """First conversion; an invalid config here is the user's error (nothing to fall back on)."""
        self.current = plan(self.config_path, follow_symlinks=self.follow_symlinks)
        convert(self.config_path, self.repository, force=True, copy=self.copy, planned=self.current)
        self._fingerprint = self._read_fingerprint()
        _log_warnings(self.current)
        models, versions, ensembles = self.current.counts()
        LOGGER.info(
            "converted %s: %d model(s), %d version(s), %d ensemble(s) into %s",
            self.config_path,
            models,
            versions,
            ensembles,
            self.repository,
        )
        return self.current

    def poll(self, load: Callable[[str], None], unload: Callable[[str], None]) -> bool:
        """Reconvert when the config or a model's version folders changed. Returns True when
        Triton was told to reload."""
        fingerprint = self._read_fingerprint()
        if fingerprint == self._fingerprint:
            return False
        self._fingerprint = fingerprint
        LOGGER.info("%s or its model folders changed; validating it", self.config_path)
        try:
            new = plan(self.config_path, follow_symlinks=self.follow_symlinks)
        except (ConfigError, UserError) as exc:
            LOGGER.error("the new config is invalid; the previous one keeps serving:\n%s", exc)
            return False
        changed = new.changed(self.current)
        if not changed:
            LOGGER.info("the new config serves the same models; nothing to reload")
            self.current = new
            self._fingerprint = self._read_fingerprint()
            return False
        convert(self.config_path, self.repository, force=True, copy=self.copy, planned=new)
        _log_warnings(new)
        old_kinds = {m.name: m.kind for m in self.current.models} if self.current else {}
        new_kinds = {m.name: m.kind for m in new.models}
        gone = [n for n in changed if n not in new_kinds]
        for name in sorted(gone, key=lambda n: old_kinds.get(n) != "ensemble"):
            LOGGER.info("unloading %s", name)
            unload(name)
        present = [n for n in changed if n in new_kinds]
        for name in sorted(present, key=lambda n: new_kinds[n] == "ensemble"):
            LOGGER.info("loading %s", name)
            load(name)
        self.current = new
        self._fingerprint = self._read_fingerprint()  # the new config may name other folders
        return True

    def _read_fingerprint(self) -> bytes:
        """The config's bytes and the listing (names, mtimes) of each model's base path."""
        try:
            digest = hashlib.sha256(self.config_path.read_bytes())
        except OSError as exc:
            raise UserError(f"cannot read {self.config_path}: {exc.strerror}") from None
        for base in self.current.base_paths if self.current else ():
            digest.update(_listing(base))
        return digest.digest()


class TritonControl:
    """Load/unload through Triton's repository API; a failed load is logged, not fatal."""

    def __init__(self, http_url: str) -> None:
        self._client = httpclient.InferenceServerClient(http_url)

    def load(self, name: str) -> None:
        try:
            self._client.load_model(name)
        except InferenceServerException as exc:
            LOGGER.error("Triton could not load %s: %s", name, exc.message())

    def unload(self, name: str) -> None:
        try:
            self._client.unload_model(name)
        except InferenceServerException as exc:
            LOGGER.error("Triton could not unload %s: %s", name, exc.message())


def _listing(base: Path) -> bytes:
    """What makes OVMS rescan a model: version folders appearing, going or being replaced."""
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name) if base.is_dir() else []
        stats = [(e.name, e.stat().st_mtime_ns) for e in entries]
        if not base.is_dir():
            stats.append((base.name, base.stat().st_mtime_ns))
    except OSError:
        return b"\0missing\0" + os.fsencode(base)
    return "".join(f"{name}\0{mtime}\0" for name, mtime in stats).encode("utf-8", "surrogateescape")


def _log_warnings(result: ConversionPlan) -> None:
    for warning in result.warnings:
        LOGGER.warning("warning: %s", warning)
