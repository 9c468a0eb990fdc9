"""What ``convert`` and ``serve`` do with a config that is remote or names remote models.

``localize`` returns the local config the converter reads (the mirror's, or the file itself
when nothing is remote) and the Mirror that keeps it in step (None when nothing is remote).
"""

from __future__ import annotations

import dataclasses
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional, Union

from ovtriton.errors import UserError

from .mirror import Mirror, needs_mirror

if TYPE_CHECKING:
    from ovtriton.converter.options import ConversionOptions
    from ovtriton.server.watch import ConfigWatcher

LOGGER = logging.getLogger(__name__)


def localize(source: Union[str, Path], cache: Path) -> tuple[Path, Optional[Mirror]]:
    """(local config path, mirror or None); StorageError when object storage fails."""
    text = str(source)
    if not needs_mirror(text):
        return Path(text), None
    mirror = Mirror(text, cache)
    mirror.sync()
    LOGGER.info("reading %s through its mirror in %s", text, cache)
    return mirror.config_path, mirror


@contextmanager
def named_as(source: Union[str, Path], config: Path) -> Iterator[None]:
    """Errors about the mirrored ``config`` name the user's ``source`` (the mirror in passing)."""
    try:
        yield
    except UserError as exc:
        if str(source) == str(config) or str(config) not in str(exc):
            raise
        text = str(exc).replace(str(config), f"{source} (mirrored to {config})", 1)
        raise UserError(text) from None


def config_watcher(source: str, workdir: Path, options: ConversionOptions) -> ConfigWatcher:
    """``serve --config``'s watcher, its repository converted with ``options``: remote configs
    and models are mirrored into ``workdir`` and their files copied into the repository."""
    from ovtriton.server.watch import ConfigWatcher

    config, mirror = localize(source, workdir / "storage-cache")
    if mirror is not None:  # the repository must outlive the mirror
        options = dataclasses.replace(options, copy=True)
    watcher = ConfigWatcher(
        config.resolve(),
        workdir / "repository",
        options,
        sync=mirror.sync if mirror is not None else None,
    )
    with named_as(source, config):
        watcher.convert_initial()
    return watcher
