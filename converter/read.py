"""Read an OVMS config into the converter's dataclasses without touching any model file.

For tools that need a config's models and pipelines (the demo's model folders, the bench's
pipeline) as ``ovtriton convert`` understands them, with the same errors.
"""

from __future__ import annotations

from pathlib import Path

from .errors import Problems
from .ovms import OvmsConfig
from .parse import parse_config
from .schema import load_document


def read_config(config_path: Path) -> OvmsConfig:
    """``config_path`` parsed and schema-checked; ``ConfigError`` lists every problem."""
    problems = Problems()
    config = parse_config(load_document(Path(config_path)), problems)
    problems.raise_if_any(str(config_path))
    return config
