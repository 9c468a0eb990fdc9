"""The conversion options, declared once: every way of converting (``ovtriton convert``,
``serve --config``, OVMS's ``--config_path``, ``--watch``, ``demo``, ``bench``, the library
call) takes one ``ConversionOptions``, so one config with the same options always gives the
same repository. The command-line flags for it are registered in one place too
(``ovtriton/commands/conversion.py``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Optional

ENSEMBLE = "ensemble"  # each pipeline a Triton ensemble of its models
PIPELINE_MODEL = "model"  # each pipeline one openvino_py pipeline model running the whole DAG
PIPELINE_FORMS = (ENSEMBLE, PIPELINE_MODEL)
DEPRECATED_FORMS = {"fused": PIPELINE_MODEL}  # the old spelling of "model", still accepted
# How the cores are shared by a pipeline's nodes (thread_budgets.py, backend/schedule.py):
# auto = pipeline models measure their nodes when they load, ensembles get the even split (the
# written repository is the same on every run); measured = ensembles' models are also timed at
# conversion (the budgets written then depend on the converting machine's timings); even = the
# even split everywhere (pipeline models too: parameter SCHEDULE even).
SCHEDULES = ("auto", "measured", "even")

LOGGER = logging.getLogger(__name__)


def machine_cores() -> int:
    """The cores this process may run on (``cores=None``, the flag's ``auto``)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass(frozen=True)
class ConversionOptions:
    """How an OVMS config becomes a Triton repository (the config itself says the rest)."""

    # Cores of the serving machine: the models of an ensemble get cores // (branches that run
    # side by side) OpenVINO threads (thread_budgets.py). None = this machine's ("auto"),
    # 0 = leave OpenVINO's default.
    cores: Optional[int] = None
    pipeline_form: str = ENSEMBLE  # the form of every pipeline not in ``pipeline_models``
    pipeline_models: frozenset[str] = field(default_factory=frozenset)  # always pipeline models
    max_input_bytes: Optional[int] = None  # MAX_INPUT_BYTES for dynamic dims; None: derived
    follow_symlinks: bool = False  # read files that symlinks lead to outside a base path
    copy: bool = False  # copy model files into the repository (default: hardlink, else symlink)
    schedule: str = SCHEDULES[0]  # see SCHEDULES

    def __post_init__(self) -> None:
        if self.pipeline_form in DEPRECATED_FORMS:
            new = DEPRECATED_FORMS[self.pipeline_form]
            LOGGER.warning(
                "--pipelines %s is deprecated; write --pipelines %s", self.pipeline_form, new
            )
            object.__setattr__(self, "pipeline_form", new)
        if self.pipeline_form not in PIPELINE_FORMS:
            raise ValueError(f"pipeline_form {self.pipeline_form!r}: one of {PIPELINE_FORMS}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule {self.schedule!r}: one of {SCHEDULES}")
        if self.cores is not None and self.cores < 0:
            raise ValueError(f"cores {self.cores}: 0 or more, or None for this machine's")
        if self.max_input_bytes is not None and self.max_input_bytes < 0:
            raise ValueError(f"max_input_bytes {self.max_input_bytes}: 0 or more, or None")
        object.__setattr__(self, "pipeline_models", frozenset(self.pipeline_models))

    def thread_cores(self) -> int:
        """The cores thread budgets are computed for (0: no budgets)."""
        return machine_cores() if self.cores is None else self.cores

    def as_pipeline_model(self, pipeline: str) -> bool:
        """Whether ``pipeline`` becomes one pipeline model (else a Triton ensemble)."""
        return self.pipeline_form == PIPELINE_MODEL or pipeline in self.pipeline_models
