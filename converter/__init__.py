"""OVMS config.json (or YAML) -> Triton model repository: models for the openvino_py backend,
pipelines as ensembles or pipeline models. Entry points: ``plan`` (validate, dry run) and
``convert`` (write), both taking one ``ConversionOptions`` (``options.py``)."""

from __future__ import annotations

from .errors import ConfigError, Problem
from .options import ConversionOptions
from .plan import ConversionPlan, ConversionSummary, convert, plan
from .read import read_config

__all__ = [
    "ConfigError",
    "ConversionOptions",
    "ConversionPlan",
    "ConversionSummary",
    "Problem",
    "convert",
    "plan",
    "read_config",
]
