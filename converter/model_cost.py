"""Measure the models of ensembles at conversion, for thread budgets sized by cost.

Each model's highest version is read, prepared with the config the converter wrote (RESHAPE,
LAYOUT, batching) and timed on zero input with the thread counts that fit the serving
machine's cores and this one's (``backend/node_cost.py``: one warm-up and a few inferences
per count). A model that cannot be measured (not on CPU, dynamic or string inputs, a file
OpenVINO refuses) gets no costs; the pipelines using it keep the even split, and the log says
why. Counts beyond this machine's cores are not measured: they cost what the largest measured
count costs in the cost model (``backend/schedule.py``).

Costs are kept for the life of the process, per model content (its files' size and mtime, its
config before budgets) and thread counts: ``serve --watch`` plans again whenever config.json
changes, and a model that did not change must get the same budget (else Triton would reload
it for nothing).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path, PurePosixPath

import openvino as ov
from google.protobuf import json_format
from ovtriton.backend import node_cost
from ovtriton.backend.errors import ModelLoadError
from ovtriton.backend.model_loader import compile_model
from ovtriton.backend.model_files import KINDS, MAPPING_FILE, SAVED_MODEL_FILE, read_mapping
from ovtriton.backend.prepare import prepare_model, read_model
from ovtriton.backend.settings import parse_settings

from .models import ConvertedModel

LOGGER = logging.getLogger(__name__)

Costs = dict[str, dict[int, float]]  # model name -> threads -> seconds
_MEASURED: dict[tuple, dict[int, float]] = {}  # model content + counts -> its costs


def local_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def measure_models(
    models: Mapping[str, ConvertedModel], names: Iterable[str], cores: int, even: int
) -> Costs:
    """Model name -> threads -> seconds per inference, for the models that could be measured."""
    core = ov.Core()
    counts = node_cost.thread_counts(min(cores, local_cores()), min(even, local_cores()))
    costs: Costs = {}
    for name in sorted(set(names)):
        model = models.get(name)
        if model is None:
            continue
        key = (
            tuple((str(f.source), f.fingerprint()) for f in model.files),
            model.config.SerializeToString(deterministic=True),
            tuple(counts),
        )
        try:
            if key not in _MEASURED:
                _MEASURED[key] = measure_model(core, model, counts)
            costs[name] = _MEASURED[key]
        except (ModelLoadError, node_cost.NotMeasurable, RuntimeError) as exc:
            LOGGER.info("model %s: not measured (%s); its pipelines keep the even split", name, exc)
    return costs


def measure_model(core: ov.Core, model: ConvertedModel, counts: list[int]) -> dict[int, float]:
    """threads -> seconds per inference of ``model``'s highest version."""
    config = json_format.MessageToDict(model.config, preserving_proto_field_name=True)
    settings = parse_settings(config.get("parameters") or {})
    if settings.target_device.strip().upper() != "CPU":
        raise node_cost.NotMeasurable(f"it runs on {settings.target_device}, not CPU")
    version = str(max(model.versions))
    files = {
        file.relpath.relative_to(version): file.source
        for file in model.files
        if file.relpath.parts[0] == version and file.source is not None
    }
    path = _model_file(files)
    mapping = read_mapping(path.parent) if PurePosixPath(MAPPING_FILE) in files else ({}, {})
    max_batch_size = model.config.max_batch_size
    prepared = prepare_model(read_model(core, path), settings, max_batch_size, mapping)
    settings = replace(settings, num_streams="1", performance_hint="LATENCY", cache_dir=None)

    def compile_with(threads: int) -> ov.CompiledModel:
        properties = replace(settings, inference_num_threads=threads).compile_properties()
        properties.setdefault("ENABLE_CPU_PINNING", False)  # as the backend compiles it
        return compile_model(core, prepared, "CPU", properties)

    measured = node_cost.measure(compile_with, counts, max_batch_size > 0)
    return {threads: seconds for threads, (seconds, _) in measured.items()}


def _model_file(files: Mapping[PurePosixPath, Path]) -> Path:
    """The file OpenVINO reads, among the version's files (in OVMS's order of preference)."""
    for kind in KINDS:
        found = sorted(rel for rel in files if rel.suffix == kind.suffix)
        if kind.suffix == ".pb":
            found = [rel for rel in found if rel.name == SAVED_MODEL_FILE]
        if found:
            source = files[found[0]]
            return source.parent if kind.suffix == ".pb" else source
    raise ModelLoadError("no model file among the version's files")
