"""What needs the ``models`` extra (torch, the weight wheels, scikit-image, Pillow, matplotlib):
importing those packages with an error that says how to install them, and saving a figure.

Serving needs none of them, so they are imported only when a model, photo or picture is made.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from ovtriton.errors import UserError

LOGGER = logging.getLogger(__name__)


def require(module: str, needed_for: str) -> Any:
    """Import ``module``; a ``UserError`` naming ``needed_for`` and the extra if it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise UserError(
            f"{needed_for} needs {module!r}, which is not installed ({exc}); "
            "install the extra with: pip install 'ovtriton[models]'"
        ) from None


def pyplot(needed_for: str) -> Any:
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    require("matplotlib", needed_for).use("Agg")
    return require("matplotlib.pyplot", needed_for)


def save_figure(figure: Any, path: Path, title: str = "", dpi: int = 100) -> Path:
    """Title, lay out, write ``path`` (its folder created) and free the figure."""
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    importlib.import_module("matplotlib.pyplot").close(figure)
    LOGGER.info("wrote %s", path)
    return path
