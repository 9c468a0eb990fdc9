"""Load a pipeline model: its DAG file, one OpenVINO Core, one thread budget, its nodes.

A pipeline model's config.pbtxt has parameter ``PIPELINE`` (the DAG file in the version folder,
see ``pipeline_spec``). Its node models are the repository's own models, read from their
sibling folders with the configs the converter copied into the DAG file; a model used by
several nodes is compiled once.

Thread budget: the nodes share the instance's cores. Unless said otherwise, every node gets
``cores // width`` OpenVINO threads and one stream, ``width`` being how many nodes can run side
by side, so parallel branches do not fight over the same cores. The pipeline's own
``INFERENCE_NUM_THREADS`` / ``NUM_STREAMS`` / ``PERFORMANCE_HINT`` set every node; a node
model's ``PLUGIN_CONFIG`` wins over both (as for a standalone model). Each node model is loaded
as a standalone one is (``model_loader``): its ``CACHE_DIR`` fills its own folder's cache.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping, Optional

import openvino as ov

from .errors import ModelLoadError
from .limits import RequestLimits
from .model_loader import load_model
from .custom_node_executor import CustomNodeExecutor
from .custom_node_kind import CustomNode
from .pipeline_nodes import ModelNode, Node
from .pipeline_run import PipelineRunner, Timing
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
    shared = parse_settings(parameters)
    path = model_dir / str(version) / str(file_name)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"parameter {PIPELINE_PARAMETER}: cannot read the pipeline file {path}: {exc}"
        ) from None
    spec = parse_spec(document, str(path))
    threads = shared.inference_num_threads or max(1, available_cores() // spec.width())
    core = ov.Core()
    compiled: dict[tuple[str, int], tuple[ov.CompiledModel, Signature]] = {}
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
            key = (node.model, node.version)
            if key not in compiled:
                compiled[key] = _load_node_model(
                    core, model_dir.parent / node.model, node.version, spec, shared, threads
                )
            nodes[node.name] = ModelNode(node.name, *compiled[key])
    except ModelLoadError:
        for loaded in nodes.values():
            if isinstance(loaded, CustomNode):
                loaded.close()
        executor.close()
        raise
    LOGGER.info(
        "loaded pipeline %s: %d node(s), %d model(s), width %d, %d OpenVINO thread(s) per node",
        model_dir.name,
        len(nodes),
        len(compiled),
        spec.width(),
        threads,
    )
    limits = RequestLimits(shared.max_input_bytes, shared.allow_non_finite)
    return PipelineRunner(spec, nodes, limits, on_timing, executor)


def node_settings(own: BackendSettings, shared: BackendSettings, threads: int) -> BackendSettings:
    """A node's settings inside the pipeline: its own, then the pipeline's budget."""
    return replace(
        own,
        inference_num_threads=shared.inference_num_threads or threads,
        num_streams=shared.num_streams or "1",
        performance_hint=shared.performance_hint or own.performance_hint or "LATENCY",
    )


def _load_node_model(
    core: ov.Core,
    folder: Path,
    version: int,
    spec: PipelineSpec,
    shared: BackendSettings,
    threads: int,
) -> tuple[ov.CompiledModel, Signature]:
    config = spec.models[folder.name]
    try:
        own = parse_settings(config.get("parameters") or {})
    except ModelLoadError as exc:
        raise ModelLoadError(f"node model {folder.name!r}: {exc}") from None
    settings = node_settings(own, shared, threads)
    try:
        loaded = load_model(core, folder, version, config, settings)
    except ModelLoadError as exc:
        raise ModelLoadError(f"node model {folder.name!r} version {version}: {exc}") from None
    return loaded.compiled, loaded.signature
