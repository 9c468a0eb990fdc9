"""What ``convert`` and ``serve`` do with a config that is remote or names remote models.

``localize`` returns the local config the converter reads (the mirror's, or the file itself
when nothing is remote) and the Mirror that keeps it in step (None when nothing is remote).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional, Union

from .mirror import Mirror, needs_mirror

LOGGER = logging.getLogger(__name__)


def localize(source: Union[str, Path], cache: Path) -> tuple[Path, Optional[Mirror]]:
    """(local config path, mirror or None); StorageError when object storage fails."""
    text = str(source)
    if not needs_mirror(text):
        return Path(text), None
    mirror = Mirror(text, cache)
    mirror.sync()
    LOGGER.info(
        "serving %s from its mirror in %s (files are copied into the repository)", text, cache
    )
    return mirror.config_path, mirror
