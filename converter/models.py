"""One OVMS model entry -> its version folders and a config.pbtxt the openvino_py backend serves.

Inputs and outputs come from reading the model file through the backend's own functions
(``prepare_model`` + ``describe``) with the very parameters written to config.pbtxt, so the
config declares exactly what the backend will serve.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import openvino as ov
from ovtriton.backend import BACKEND_NAME
from ovtriton.backend.errors import ModelLoadError
from ovtriton.backend.model_files import find_model_file, read_mapping
from ovtriton.backend.prepare import carried_scalars, prepare_model, read_model
from ovtriton.backend.signature import Bound, port_bounds
from ovtriton.backend.tensors import TensorSpec, describe
from ovtriton.backend.settings import BackendSettings, parse_settings
from tritonclient.grpc import model_config_pb2

from . import input_limit, pbtxt, shapes
from .errors import Problems
from .ovms import ModelEntry
from .repository import PlannedFile
from .sources import VersionSource, find_versions

LOGGER = logging.getLogger(__name__)

CACHE_DIR = "cache"  # relative to the model folder; the backend resolves it there


@dataclass(frozen=True)
class ConvertedModel:
    """A model ready to be written, and the tensors pipelines check their wiring against."""

    entry: ModelEntry
    versions: tuple[int, ...]
    files: tuple[PlannedFile, ...]
    inputs: tuple[TensorSpec, ...]  # full shapes, -1 where dynamic (batch dim included)
    outputs: tuple[TensorSpec, ...]
    config: model_config_pb2.ModelConfig
    # tensor name -> (min, max) of each dimension: the ranges that ``inputs``/``outputs`` show as -1
    bounds: Mapping[str, tuple[Bound, ...]] = dataclasses.field(default_factory=dict, compare=False)

    def input(self, name: str) -> TensorSpec | None:
        return next((spec for spec in self.inputs if spec.name == name), None)

    def output(self, name: str) -> TensorSpec | None:
        return next((spec for spec in self.outputs if spec.name == name), None)


def convert_model(
    core: ov.Core,
    entry: ModelEntry,
    config_dir: Path,
    problems: Problems,
    follow_symlinks: bool = False,
    max_input_bytes: int | None = None,
) -> ConvertedModel | None:
    """``max_input_bytes``: the MAX_INPUT_BYTES of a model with dynamic dims (None: derived,
    see ``input_limit``)."""
    sources = find_versions(entry, config_dir, problems, follow_symlinks)
    if not sources:
        return None
    served = []
    for source in sources:
        version = _read_version(core, entry, source, problems, max_input_bytes)
        if version is None:
            return None
        served.append(version)
    first = served[0]
    for source, other in zip(sources[1:], served[1:]):
        if other != first:
            problems.add(
                f"{entry.path}.base_path",
                f"version {source.number} has other inputs/outputs than version "
                f"{sources[0].number}; Triton declares one signature per model",
                "serve the versions as separate models, or restrict model_version_policy",
            )
    if not problems.clean(entry.path):
        return None  # versions that differ (reported above)
    config = _model_config(entry, first)
    files = tuple(
        PlannedFile(PurePosixPath(str(source.number), *rel.parts), path)
        for source in sources
        for rel, path in source.files
    )
    numbers = tuple(s.number for s in sources)
    return ConvertedModel(entry, numbers, files, first.inputs, first.outputs, config, first.bounds)


@dataclass(frozen=True)
class _Served:
    """How one version is served: Triton batching, backend parameters, inputs and outputs."""

    max_batch_size: int
    parameters: tuple[tuple[str, str], ...]
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    bounds: Mapping[str, tuple[Bound, ...]] = dataclasses.field(default_factory=dict, compare=False)


def _read_version(
    core: ov.Core,
    entry: ModelEntry,
    source: VersionSource,
    problems: Problems,
    max_input_bytes: int | None = None,
) -> _Served | None:
    where = f"{entry.path}.base_path"
    try:
        path = source.model_file or find_model_file(source.folder)
        mapping = read_mapping(source.folder) if source.model_file is None else ({}, {})
        model = read_model(core, path)
        probe = prepare_model(model.clone(), BackendSettings(), 0, mapping)
    except ModelLoadError as exc:
        problems.add(where, f"version {source.number}: {exc}")
        return None
    dims = {port.get_any_name(): _dims(port.get_partial_shape()) for port in probe.inputs}
    output_names = [port.get_any_name() for port in probe.outputs]
    requested = _requested(entry, list(dims), output_names, mapping, problems)
    if requested is None:
        return None
    shape_map, layouts = requested
    if layouts:  # OVMS reads shape and batch_size in the request's layout: after the layout
        try:
            laid = prepare_model(model.clone(), BackendSettings(layout=layouts), 0, mapping)
        except ModelLoadError as exc:
            problems.add(f"{entry.path}.layout", f"version {source.number}: {exc}")
            return None
        dims = {port.get_any_name(): _dims(port.get_partial_shape()) for port in laid.inputs}
    batch = shapes.parse_batch_size(entry.batch_size) if entry.batch_size else None
    if shape_map and batch is not None:
        problems.warn(f"{entry.path}.batch_size", "ignored because shape is set (as OVMS does)")
    for triton_batching in (True, False):
        try:
            shaping = shapes.plan_shaping(dims, shape_map, batch, layouts, triton_batching)
        except ValueError as exc:
            problems.add(f"{entry.path}.batch_size", str(exc))
            return None
        parameters = _parameters(entry, shaping)
        try:
            settings = parse_settings({k: {"string_value": v} for k, v in parameters})
            prepared = prepare_model(model.clone(), settings, shaping.max_batch_size, mapping)
            inputs, outputs = tuple(describe(prepared.inputs)), tuple(describe(prepared.outputs))
        except ModelLoadError as exc:
            field = "shape" if shape_map else "batch_size" if batch is not None else "layout"
            problems.add(
                f"{entry.path}.{field}" if (shape_map or batch is not None or layouts) else where,
                f"version {source.number}: {exc}",
            )
            return None
        batched_outputs = all(spec.shape and spec.shape[0] == -1 for spec in outputs)
        if shaping.max_batch_size == 0 or batched_outputs:
            bounds = {
                p.get_any_name(): port_bounds(p) for p in [*prepared.inputs, *prepared.outputs]
            }
            limit = input_limit.max_input_bytes(prepared, shaping.max_batch_size, max_input_bytes)
            if limit:
                parameters += ((input_limit.PARAMETER, str(limit)),)
            scalars = carried_scalars(prepared)
            if scalars:  # 0-d in the model, [1] in Triton: the TFS front answers them as 0-d
                parameters += (("SCALARS", json.dumps(scalars)),)
            return _Served(shaping.max_batch_size, parameters, inputs, outputs, bounds)
        LOGGER.info(
            "%s: outputs are not batch-first; batch_size %s set by reshape instead",
            entry.name,
            entry.batch_size,
        )
    return None


def _requested(
    entry: ModelEntry,
    inputs: list[str],
    outputs: list[str],
    mapping: tuple[dict[str, str], dict[str, str]],
    problems: Problems,
) -> tuple[dict[str, tuple | None], dict[str, str]] | None:
    """``shape`` and ``layout`` keyed by (mapped) tensor name; a plain string means the one input."""
    result: list[dict[str, Any]] = []
    for field, value, allowed, parse in (
        ("shape", entry.shape, inputs, shapes.parse_shape),
        ("layout", entry.layout, inputs + outputs, shapes.parse_layout),
    ):
        if value is None:
            result.append({})
            continue
        if isinstance(value, str):
            if len(inputs) != 1:
                problems.add(
                    f"{entry.path}.{field}",
                    f"a single {field} string needs a model with one input; this one "
                    f"has {len(inputs)}: {inputs}",
                    f'give one per input: {{"{inputs[0] if inputs else "input"}": "..."}}',
                )
                return None
            value = {inputs[0]: value}
        known = {}
        for name, text in value.items():
            if name not in allowed:
                renamed = mapping[0].get(name) or mapping[1].get(name)
                hint = (
                    f"mapping_config.json renames it to {renamed!r}; use that name"
                    if renamed
                    else f"the model's {'inputs' if field == 'shape' else 'tensors'} are {allowed}"
                )
                problems.add(
                    f"{entry.path}.{field}.{name}",
                    f"the model has no input {name!r}"
                    if field == "shape"
                    else f"the model has no tensor {name!r}",
                    hint,
                )
                return None
            known[name] = parse(text)
        result.append(known)
    return result[0], result[1]


def _dims(pshape: ov.PartialShape) -> list[shapes.Dim]:
    dims: list[shapes.Dim] = []
    for dim in pshape:
        if dim.is_static:
            dims.append(dim.get_length())
        elif dim.get_max_length() >= 0:
            dims.append(f"{dim.get_min_length()}:{dim.get_max_length()}")
        else:
            dims.append(-1)
    return dims


def _parameters(entry: ModelEntry, shaping: shapes.Shaping) -> tuple[tuple[str, str], ...]:
    params: list[tuple[str, str]] = []
    if entry.target_device is not None:
        # OVMS 2026.3: "" = let OpenVINO choose; AUTO is OpenVINO's own automatic selection.
        params.append(("TARGET_DEVICE", entry.target_device.strip() or "AUTO"))
    if entry.nireq:
        params.append(("NIREQ", str(entry.nireq)))
    if entry.plugin_config:
        plugin = {k: str(v) if k == "NUM_STREAMS" else v for k, v in entry.plugin_config.items()}
        params.append(("PLUGIN_CONFIG", json.dumps(plugin, sort_keys=True)))
    if entry.allow_cache:
        params.append(("CACHE_DIR", CACHE_DIR))
    if shaping.reshape:
        params.append(("RESHAPE", json.dumps(dict(shaping.reshape))))
    if shaping.layout:
        params.append(("LAYOUT", json.dumps(dict(shaping.layout))))
    return tuple(params)


def _model_config(entry: ModelEntry, served: _Served) -> model_config_pb2.ModelConfig:
    max_batch_size = served.max_batch_size
    config = model_config_pb2.ModelConfig(
        name=entry.name, backend=BACKEND_NAME, max_batch_size=max_batch_size
    )
    policy = entry.version_policy
    if policy.kind == "all":
        config.version_policy.all.SetInParent()
    elif policy.kind == "specific":
        config.version_policy.specific.versions.extend(policy.versions)
    else:
        config.version_policy.latest.num_versions = policy.num_versions
    pbtxt.add_tensors(config.input, served.inputs, batched=max_batch_size > 0)
    pbtxt.add_tensors(config.output, served.outputs, batched=max_batch_size > 0)
    config.instance_group.add(kind=model_config_pb2.ModelInstanceGroup.KIND_CPU, count=1)
    if max_batch_size > 0:
        config.dynamic_batching.SetInParent()
    for key, value in served.parameters:
        config.parameters[key].string_value = value
    return config
