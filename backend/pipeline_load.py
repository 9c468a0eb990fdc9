"""Load a pipeline model: its DAG file, one OpenVINO Core, one thread budget, its nodes.

A pipeline model's config.pbtxt has parameter ``PIPELINE`` (the DAG file in the version folder,
see ``pipeline_spec``). Its node models are the repository's own models, read from their
sibling folders with the configs the converter copied into the DAG file; a model used by
several nodes is compiled once.

Schedule: the nodes share the instance's cores; ``pipeline_schedule`` chooses each node's
OpenVINO threads (measured by default, parameter ``SCHEDULE``) and whether the nodes of a
request run side by side or one after another. Node models run with one stream; the pipeline's
own ``INFERENCE_NUM_THREADS`` / ``NUM_STREAMS`` / ``PERFORMANCE_HINT`` set every node; a node
model's ``PLUGIN_CONFIG`` wins over both (as for a standalone model). Each node model is read
and compiled as a standalone one is (``model_loader``): its ``CACHE_DIR`` fills its own
folder's cache.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Mapping, Optional

import openvino as ov

from .errors import ModelLoadError
from .limits import RequestLimits
from .model_loader import check_device, max_batch_size, prepared_model
from .model_files import find_model_file
from .custom_node_executor import CustomNodeExecutor
from .custom_node_kind import CustomNode
from .pipeline_nodes import ModelNode, Node
from .pipeline_run import PipelineRunner, Timing
from .pipeline_schedule import (
    SCHEDULE_PARAMETER,
    NodeModel,
    choose_schedule,
    node_settings,
    schedule_mode,
)
from .pipeline_spec import PipelineSpec, parse_spec
from .settings import BackendSettings, parse_settings
from .signature import Signature

LOGGER = logging.getLogger(__name__)

PIPELINE_PARAMETER = "PIPELINE"


def is_pipeline(config: Mapping[str, Any]) -> bool:
    """True for a pipeline model's config (it has the ``PIPELINE`` parameter)."""
    return PIPELINE_PARAMETER in (config.get("parameters") or {})


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def load_pipeline(
    model_dir: Path, version: str, config: Mapping[str, Any], on_timing: Optional[Timing] = None
) -> PipelineRunner:
    """Everything ``initialize`` does for a pipeline model; ``ModelLoadError`` says what failed."""
    parameters = dict(config.get("parameters") or {})
    raw_file = parameters.pop(PIPELINE_PARAMETER)
    file_name = raw_file.get("string_value", "") if isinstance(raw_file, Mapping) else raw_file
    mode = schedule_mode(parameters.pop(SCHEDULE_PARAMETER, None))
    shared = parse_settings(parameters)
    path = model_dir / str(version) / str(file_name)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"parameter {PIPELINE_PARAMETER}: cannot read the pipeline file {path}: {exc}"
        ) from None
    spec = parse_spec(document, str(path))
    core = ov.Core()
    read: dict[tuple[str, int], NodeModel] = {}
    for node in spec.nodes:
        if node.kind == "model" and (node.model, node.version) not in read:
            read[(node.model, node.version)] = _read_node_model(
                core, model_dir.parent / node.model, node.version, spec, shared
            )
    schedule, measured = choose_schedule(core, spec, read, shared, mode, available_cores())
    LOGGER.info("pipeline %s: %s", model_dir.name, schedule.describe())
    compiled: dict[tuple[str, int, int], ov.CompiledModel] = {}
    nodes: dict[str, Node] = {}
    executor = CustomNodeExecutor(max(4, available_cores()))  # sub-requests run side by side
    try:
        for node in spec.nodes:
            if node.kind == "custom":
                nodes[node.name] = CustomNode.load(
                    node.name,
                    str(model_dir / str(version) / node.library),
                    node.params,
                    list(node.inputs),
                    sorted(set(node.outputs.values())),
                    executor,
                    shared.custom_node_deadline,
                )
                continue
            model = read[(node.model, node.version)]
            threads = schedule.threads[node.name]
            key = (node.model, node.version, threads)
            if key not in compiled:
                compiled[key] = measured.get(key) or model.compile(core, threads)
            nodes[node.name] = ModelNode(node.name, compiled[key], model.signature)
    except ModelLoadError:
        for loaded in nodes.values():
            if isinstance(loaded, CustomNode):
                loaded.close()
        executor.close()
        raise
    LOGGER.info(
        "loaded pipeline %s: %d node(s), %d model(s), width %d",
        model_dir.name,
        len(nodes),
        len(read),
        spec.width(),
    )
    limits = RequestLimits(shared.max_input_bytes, shared.allow_non_finite)
    return PipelineRunner(spec, nodes, limits, on_timing, executor, not schedule.side_by_side)


def _read_node_model(
    core: ov.Core, folder: Path, version: int, spec: PipelineSpec, shared: BackendSettings
) -> NodeModel:
    config = spec.models[folder.name]
    try:
        own = parse_settings(config.get("parameters") or {})
    except ModelLoadError as exc:
        raise ModelLoadError(f"node model {folder.name!r}: {exc}") from None
    settings = node_settings(own, shared)
    version_dir = folder / str(version)
    try:
        check_device(core, settings.target_device)
        path = find_model_file(version_dir, config.get("default_model_filename") or "")
        model = prepared_model(core, path, version_dir, config, settings)
        signature = Signature.of(model, max_batch_size(config))
        signature.check_config(config)
    except ModelLoadError as exc:
        raise ModelLoadError(f"node model {folder.name!r} version {version}: {exc}") from None
    label = f"{folder.name!r} version {version}"
    return NodeModel(label, folder, model, settings, signature, max_batch_size(config))
