"""A pipeline model's schedule: the OpenVINO threads of its nodes and whether branches overlap.

Parameter ``SCHEDULE`` of the pipeline model chooses how (``schedule.py`` has the cost model):

- ``measured`` (default): every node model is timed on zero input with the thread counts that
  fit the cores (``node_cost.py``, a few inferences each), and the plan with the lowest
  estimated latency wins (the model runs one request at a time, so its throughput is
  1 / latency); it may run the nodes of a request one after another, each with every core,
  instead of side by side. Every load (so every reload)
  measures again. A pipeline that demultiplexes, or a node that cannot be measured (dynamic or
  string inputs), keeps the even split; the log says why.
- ``even``: every node ``cores // width`` threads, branches side by side.

The pipeline's own ``INFERENCE_NUM_THREADS`` sets every node and skips the measurement; a node
model's ``PLUGIN_CONFIG`` threads win over everything (as for a standalone model). The choice is
logged at INFO when the pipeline model loads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Optional

import openvino as ov

from . import node_cost
from .errors import ModelLoadError
from .model_loader import compile_model, compile_properties
from .pipeline_spec import PipelineSpec
from .schedule import EVEN, MEASURED, SCHEDULES, Schedule, even_schedule, plan_schedule
from .settings import BackendSettings
from .signature import Signature

LOGGER = logging.getLogger(__name__)

SCHEDULE_PARAMETER = "SCHEDULE"
OWN_THREAD_KEYS = ("INFERENCE_NUM_THREADS", "CPU_THREADS_NUM")

Measured = dict[tuple[str, int, int], ov.CompiledModel]  # (model, version, threads) -> compiled


@dataclass(frozen=True)
class NodeModel:
    """A node model read and prepared, to be compiled with the threads its schedule gives it."""

    label: str
    folder: Path  # the model's Triton folder (CACHE_DIR is relative to it)
    model: ov.Model
    settings: BackendSettings  # threads not set unless the pipeline's INFERENCE_NUM_THREADS is
    signature: Signature
    max_batch_size: int

    @property
    def own_threads(self) -> Optional[int]:
        """The threads the model's own PLUGIN_CONFIG fixes (they win), if any."""
        for key in OWN_THREAD_KEYS:
            if key in self.settings.plugin_config:
                return int(self.settings.plugin_config[key])
        return None

    def compile(self, core: ov.Core, threads: int) -> ov.CompiledModel:
        threads = self.settings.inference_num_threads or threads
        settings = replace(self.settings, inference_num_threads=threads)
        properties = compile_properties(settings, self.folder)
        return compile_model(core, self.model, settings.target_device, properties)


def measure_model(
    core: ov.Core, model: NodeModel, counts: list[int]
) -> dict[int, tuple[float, ov.CompiledModel]]:
    """threads -> (seconds per inference, compiled model), see ``node_cost.measure``."""
    return node_cost.measure(lambda t: model.compile(core, t), counts, model.max_batch_size > 0)


def schedule_mode(raw: Any) -> str:
    """The ``SCHEDULE`` parameter's value (``measured`` when not set)."""
    value = raw.get("string_value", "") if isinstance(raw, Mapping) else (raw or "")
    value = str(value).strip().lower() or MEASURED
    if value not in SCHEDULES:
        raise ModelLoadError(
            f"parameter {SCHEDULE_PARAMETER}: {value!r} is not one of {', '.join(SCHEDULES)}"
        )
    return value


def node_settings(own: BackendSettings, shared: BackendSettings) -> BackendSettings:
    """A node's settings inside the pipeline: its own, then the pipeline's."""
    return replace(
        own,
        inference_num_threads=shared.inference_num_threads,
        num_streams=shared.num_streams or "1",
        performance_hint=shared.performance_hint or own.performance_hint or "LATENCY",
    )


def choose_schedule(
    core: ov.Core,
    spec: PipelineSpec,
    models: Mapping[tuple[str, int], NodeModel],
    shared: BackendSettings,
    mode: str,
    cores: int,
) -> tuple[Schedule, Measured]:
    """The schedule, and the compiled models its measurement made that it uses."""
    sources = {node.name: node.sources() for node in spec.nodes}
    if shared.inference_num_threads:
        threads = shared.inference_num_threads
        return Schedule({n: threads for n in sources}, True, "INFERENCE_NUM_THREADS"), {}
    if mode == EVEN:
        return _own(even_schedule(sources, cores), spec, models), {}
    if spec.demultiply is not None or any(n.demultiply is not None or n.gather for n in spec.nodes):
        return _own(
            even_schedule(sources, cores, "even (the pipeline demultiplexes)"), spec, models
        ), {}
    even_share = max(1, cores // spec.width())
    timed: dict[tuple[str, int], dict[int, tuple[float, ov.CompiledModel]]] = {}
    for key, model in models.items():
        if model.settings.target_device.upper() != "CPU":
            continue
        counts = (
            [model.own_threads] if model.own_threads else node_cost.thread_counts(cores, even_share)
        )
        try:
            timed[key] = measure_model(core, model, counts)
        except node_cost.NotMeasurable as exc:
            kind = f"even (node model {model.label} not measurable: {exc})"
            return _own(even_schedule(sources, cores, kind), spec, models), {}
    costs = {}
    for node in spec.nodes:
        if node.kind == "model" and (node.model, node.version) in timed:
            table = timed[(node.model, node.version)]
            costs[node.name] = {t: seconds for t, (seconds, _) in table.items()}
    # One instance whose execute Triton serialises: requests never overlap, latency is all.
    schedule = _own(plan_schedule(sources, costs, cores, serial=True), spec, models)
    used: Measured = {}
    for node in spec.nodes:
        table = timed.get((node.model, node.version), {})
        threads = schedule.threads[node.name]
        if threads in table:
            used[(node.model, node.version, threads)] = table[threads][1]
    return schedule, used


def _own(
    schedule: Schedule, spec: PipelineSpec, models: Mapping[tuple[str, int], NodeModel]
) -> Schedule:
    """The schedule with the threads node models fix themselves (PLUGIN_CONFIG wins)."""
    threads = dict(schedule.threads)
    for node in spec.nodes:
        model = models.get((node.model, node.version)) if node.kind == "model" else None
        if model is not None and model.own_threads:
            threads[node.name] = model.own_threads
    return replace(schedule, threads=threads)
