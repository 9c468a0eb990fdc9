"""Serve an OVMS config: convert it into a managed repository and follow its changes.

Like OVMS, the config file and the version folders of its models are checked for changes (a
new or removed version folder counts; edits inside an existing one do not), and a changed config
is validated first; when it is invalid the problems are logged and
the models already loaded keep serving. When it is valid, the repository is rewritten
(atomically) and Triton (in explicit model-control mode) loads only what changed, unloads
what is gone: composing models before the ensembles that use them, and the reverse on unload.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from ovtriton.converter import ConfigError, ConversionOptions, ConversionPlan, convert, plan
from ovtriton.converter.schema import MAX_CONFIG_BYTES
from ovtriton.errors import UserError

LOGGER = logging.getLogger(__name__)


@dataclass
class ConfigWatcher:
    """Keeps ``repository`` in step with the OVMS config at ``config_path``."""

    config_path: Path
    repository: Path
    options: ConversionOptions = ConversionOptions()  # the same as ``convert``'s
    # Called before each poll: brings config_path up to date with object storage
    # (ovtriton.storage.mirror); a UserError there keeps the old repository serving.
    sync: Optional[Callable[[], object]] = None
    current: Optional[ConversionPlan] = field(default=None, init=False)
    _fingerprint: bytes = field(default=b"", init=False)
    _last_error: str = field(default="", init=False)
    _sync_failed: bool = field(default=False, init=False)

    def convert_initial(self) -> ConversionPlan:
        """First conversion; an invalid config here is the user's error (nothing to fall back on)."""
        try:
            data: Optional[bytes] = self._read()[0]
        except OSError:
            data = None  # the converter reads it and says what is wrong with it
        self.current = self._plan(data)
        convert(
            self.config_path,
            self.repository,
            options=self.options,
            force=True,
            planned=self.current,
        )
        if data is not None:  # else the next poll plans again
            self._fingerprint = self._digest(data, self.current.base_paths)
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

    @property
    def last_error(self) -> str:  # why the latest config was not applied ("" when it was)
        return self._last_error

    def poll(self, load: Callable[[str], None], unload: Callable[[str], None]) -> bool:
        """Reconvert when the config or a model's version folders changed. Returns True when
        Triton was told to reload. Whatever goes wrong here (a config missing, unreadable,
        half-written or invalid; a full disk while converting) is logged and the models that
        run keep serving; the change is tried again at the next poll."""
        if self.sync is not None:
            try:
                self.sync()
            except UserError as exc:  # storage unreachable, refusing, or a bad remote config
                self._complain(f"{exc}; the previous repository keeps serving, retrying")
                self._sync_failed = True
                return False
            if self._sync_failed:  # the next failure is logged again
                LOGGER.info("object storage answers again")
                self._sync_failed, self._last_error = False, ""
        try:
            data, fingerprint = self._read()
        except OSError as exc:
            self._complain(f"cannot read {self.config_path}: {exc.strerror or exc}; retrying")
            return False
        if fingerprint == self._fingerprint:
            return False
        LOGGER.info("%s or its model folders changed; validating it", self.config_path)
        try:  # the very bytes fingerprinted: a change written from now on is seen next poll
            new = self._plan(data)
        except (ConfigError, UserError) as exc:  # these bytes are invalid: wait for a change
            self._complain(f"the new config is invalid; the previous one keeps serving:\n{exc}")
            self._fingerprint = fingerprint
            return False
        except (OSError, RuntimeError) as exc:  # a model file vanished mid-read, ...
            self._complain(f"cannot read the new config's models: {exc}; retrying")
            return False
        # The new config's model folders, listed now: a change made from here on is seen at
        # the next poll, even while the loads below take long.
        fingerprint = self._digest(data, new.base_paths)
        changed = new.changed(self.current)
        if not changed:
            LOGGER.info("the new config serves the same models; nothing to reload")
            self.current, self._fingerprint, self._last_error = new, fingerprint, ""
            return False
        try:
            self._write(new, changed)
        except (UserError, OSError) as exc:  # ENOSPC, permissions: nothing was written
            self._complain(f"cannot write the new repository: {exc}; the old one keeps serving")
            return False
        self._apply(new, changed, load, unload)
        self.current, self._fingerprint, self._last_error = new, fingerprint, ""
        return True

    def _write(self, new: ConversionPlan, changed: set[str]) -> None:
        """Write the changed models into a staging folder and swap their folders in: Triton
        (explicit mode) reloads every model of a loaded ensemble whose files' mtime or ctime
        changed, so an unchanged model's folder must not be touched at all."""
        staging = self.repository.parent / f".{self.repository.name}.next"
        if staging.exists():
            shutil.rmtree(staging)
        try:
            # Only the changed models: even linking an unchanged model's files again changes
            # their ctime, which Triton takes for a change.
            only = dataclasses.replace(
                new, models=tuple(m for m in new.models if m.name in changed)
            )
            convert(self.config_path, staging, options=self.options, force=True, planned=only)
            for name in sorted(changed):
                live, fresh, old = (
                    self.repository / name,
                    staging / name,
                    staging / f".{name}.old",
                )
                if live.exists():
                    live.rename(old)
                if fresh.exists():
                    fresh.rename(live)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _apply(
        self,
        new: ConversionPlan,
        changed: set[str],
        load: Callable[[str], None],
        unload: Callable[[str], None],
    ) -> None:
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

    def _plan(self, data: Optional[bytes]) -> ConversionPlan:
        return plan(self.config_path, options=self.options, data=data)

    def _complain(self, message: str) -> None:
        """Log ``message`` as an error once, not at every poll while it stays the same."""
        if message != self._last_error:
            LOGGER.error("%s", message)
            self._last_error = message

    def _read(self) -> tuple[bytes, bytes]:
        """The config's bytes and the fingerprint of those bytes with the model folders."""
        with self.config_path.open("rb") as stream:  # bounded: the converter refuses more
            data = stream.read(MAX_CONFIG_BYTES + 1)
        return data, self._digest(data, self.current.base_paths if self.current else ())

    @staticmethod
    def _digest(data: bytes, bases: Iterable[Path]) -> bytes:
        """The config's bytes and the listing (names, mtimes) of each model's base path."""
        digest = hashlib.sha256(data)
        for base in bases:
            digest.update(_listing(base))
        return digest.digest()


class TritonControl:
    """Load/unload through Triton's repository API; a failed load is logged, not fatal."""

    def __init__(
        self,
        http_url: str,
        headers: Optional[dict[str, str]] = None,
        verify: Optional[Callable[[], None]] = None,
    ) -> None:
        self._client = httpclient.InferenceServerClient(http_url, network_timeout=600.0)
        self._headers = dict(headers or {})  # the admin key of the repository API
        self._verify = verify or (lambda: None)  # raises UserError unless our server answers

    def load(self, name: str) -> None:
        try:
            self._verify()
            self._client.load_model(name, headers=self._headers)
        except ConnectionError as exc:
            LOGGER.error("could not load %s: %s", name, exc)
        except InferenceServerException as exc:
            LOGGER.error("Triton could not load %s: %s", name, exc.message())

    def unload(self, name: str) -> None:
        try:
            self._verify()
            self._client.unload_model(name, headers=self._headers)
        except ConnectionError as exc:
            LOGGER.error("could not unload %s: %s", name, exc)
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
