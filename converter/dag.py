"""An OVMS pipeline with custom nodes or demultiplexing -> a pipeline model (always).

Triton's ensembles run neither custom node libraries nor OVMS's demultiplexing, so a pipeline
with a ``"type": "custom"`` node, a ``demultiply_count`` (on a node or at its entry) or a
``gather_from_node`` becomes a *pipeline model* (see ``fused.py``) whatever ``--pipelines``
says. Its libraries are linked or copied into ``1/custom_nodes/`` like model files. Its declared
inputs and outputs follow OVMS: an entry with ``demultiply_count`` takes the shard count in
front of each input; a demultiplexer's outputs lose dim 0 inside its branches; the response
gathers the demultiplexers still open, one leading dimension each (-1 when dynamic).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePosixPath

from google.protobuf import json_format

from ovtriton.backend.demultiplex import gathered_dims
from ovtriton.backend.errors import ModelLoadError
from ovtriton.backend.pipeline_spec import FORMAT, REQUEST, parse_spec
from ovtriton.backend.tensors import TensorSpec

from .custom_nodes import Libraries, NodeTensors, Tensor, model_tensors
from .dag_checks import check_types, check_wiring, shard
from .errors import Problems
from .graph import merge_shapes
from .fused import PIPELINE_FILE, in_order, pipeline_config
from .models import ConvertedModel
from .ovms import Node, Pipeline
from .repository import PlannedFile, PlannedModel
from .validate import model_of

LIBRARY_DIR = "custom_nodes"


def dag_model(
    pipeline: Pipeline,
    models: Mapping[str, ConvertedModel],
    libraries: Libraries,
    declared: Mapping[str, tuple[str, ...]],
    problems: Problems,
    digests: Mapping[str, str],
) -> PlannedModel | None:
    """The pipeline model of ``pipeline``, or None after reporting every problem found."""
    tensors: dict[str, NodeTensors] = {}
    for node in pipeline.nodes:
        found = (
            libraries.node_tensors(node)
            if node.library_name is not None
            else _model_node(node, models, declared, problems)
        )
        if found is not None:
            tensors[node.name] = found
    check_wiring(pipeline, tensors, problems)
    if len(tensors) != len(pipeline.nodes) or not problems.clean(pipeline.path):
        return None
    check_types(pipeline, tensors, problems)
    if not problems.clean(pipeline.path):
        return None
    files: dict[str, PlannedFile] = {}
    document = _describe(pipeline, tensors, files, digests)
    try:
        spec = parse_spec(document, pipeline.path)
    except ModelLoadError as exc:
        problems.add(pipeline.path, str(exc).split("; the file is written by")[0])
        return None
    counts = {node.name: node.demultiply_count for node in pipeline.nodes}
    counts[REQUEST] = pipeline.demultiply_count
    inputs = _inputs(pipeline, tensors, problems)
    outputs = []
    for out in pipeline.outputs:
        source, alias = out.source.node_name, out.source.data_item
        if source == REQUEST:
            match = [spec for spec in inputs if spec.name == alias]
            datatype, dims = (match[0].datatype, match[0].shape) if match else (None, ())
        else:
            datatype, dims = _value(pipeline, tensors, source, alias)
            opened = [counts[level] or 0 for level in spec.levels["response"]]
            dims = gathered_dims(dims, opened)
        if datatype is None:
            problems.add(
                out.path, f"the library gives no precision for {source}:{alias}", _PRECISION
            )
            continue
        outputs.append(TensorSpec(out.name, datatype, tuple(dims)))
    if not problems.clean(pipeline.path):
        return None
    document["inputs"] = [spec.name for spec in inputs]  # what config.pbtxt declares
    data = json.dumps(document, indent=1, sort_keys=True).encode()
    planned = (PlannedFile(PurePosixPath("1", PIPELINE_FILE), data=data), *files.values())
    config = pipeline_config(pipeline.name, inputs, outputs)
    return PlannedModel(pipeline.name, "pipeline", config, (1,), planned)


_PRECISION = "OVMS needs a precision from getInputsInfo/getOutputsInfo or from a connected model"


def _model_node(
    node: Node,
    models: Mapping[str, ConvertedModel],
    declared: Mapping[str, tuple[str, ...]],
    problems: Problems,
) -> NodeTensors | None:
    model = model_of(node, models, declared, problems)
    return model_tensors(model) if model is not None else None


def _describe(
    pipeline: Pipeline,
    tensors: Mapping[str, NodeTensors],
    files: dict[str, PlannedFile],
    digests: Mapping[str, str],
) -> dict:
    nodes: list[dict] = []
    models: dict[str, dict] = {}
    for node in in_order(pipeline.nodes):
        own = tensors[node.name]
        entry: dict = {
            "name": node.name,
            "inputs": {
                item.input_name: [item.source.node_name, item.source.data_item]
                for item in node.inputs
            },
            "outputs": {out.alias: out.data_item for out in node.outputs},
        }
        if own.library is not None:
            key = str(own.library)
            if key not in files:
                relpath = PurePosixPath(LIBRARY_DIR, str(len(files)), own.library.name)
                files[key] = PlannedFile(PurePosixPath("1", relpath), source=own.library)
            library = files[key].relpath.relative_to("1")
            entry.update(kind="custom", library=str(library), params=dict(node.params))
        elif own.model is not None:
            model = own.model
            entry.update(
                kind="model",
                model=model.entry.name,
                version=node.version or max(model.versions),
            )
            models[model.entry.name] = json_format.MessageToDict(
                model.config, preserving_proto_field_name=True
            )
        if node.demultiply_count is not None:
            entry["demultiply_count"] = node.demultiply_count
        if node.gather_from_node is not None:
            entry["gather_from_node"] = node.gather_from_node
        nodes.append(entry)
    document = {
        "format": FORMAT,
        "inputs": list(dict.fromkeys(pipeline.inputs)),
        "nodes": nodes,
        "outputs": {
            out.name: [out.source.node_name, out.source.data_item] for out in pipeline.outputs
        },
        "models": models,
        "digests": {name: digests.get(name, "") for name in sorted(models)},
    }
    if pipeline.demultiply_count is not None:
        document["demultiply_count"] = pipeline.demultiply_count
    return document


def _value(pipeline: Pipeline, tensors: Mapping[str, NodeTensors], node: str, alias: str) -> Tensor:
    """A node output's type and dims as the nodes after it see it (a shard, if demultiplexed)."""
    spec = next(n for n in pipeline.nodes if n.name == node)
    item = next(out.data_item for out in spec.outputs if out.alias == alias)
    return shard(spec, tensors[node].outputs[item])


def _inputs(
    pipeline: Pipeline, tensors: Mapping[str, NodeTensors], problems: Problems
) -> list[TensorSpec]:
    """Each pipeline input as its consumers take it, their dims intersected (OVMS's pipeline
    metadata), with the entry's count in front; inputs nothing reads are left out, as OVMS
    does."""
    specs = []
    for name in dict.fromkeys(pipeline.inputs):
        consumers = [
            found
            for node in pipeline.nodes
            for item in node.inputs
            if (item.source.node_name, item.source.data_item) == (REQUEST, name)
            and (found := tensors[node.name].inputs.get(item.input_name)) is not None
        ]
        passed = any(
            (out.source.node_name, out.source.data_item) == (REQUEST, name)
            for out in pipeline.outputs
        )
        if not consumers and not passed:
            continue
        types = sorted({datatype for datatype, _ in consumers if datatype is not None})
        merged: tuple[int, ...] | None = tuple(consumers[0][1]) if consumers else None
        for _, dims in consumers[1:]:
            merged = merge_shapes(merged, dims) if merged is not None else None
        where = f"{pipeline.path}.inputs"
        if len(types) > 1 or (consumers and merged is None):
            problems.add(
                where,
                f"input {name!r}: its consumers take {sorted(set(consumers))} (OVMS: "
                "PIPELINE_INPUTS_AMBIGUOUS_METADATA)",
                "connect the input to nodes that take the same precision and shape",
            )
            continue
        if not types or merged is None:
            problems.add(
                where,
                f"input {name!r}: no node gives it a precision",
                f"connect it to a model or to a library input with a precision; {_PRECISION}",
            )
            continue
        if pipeline.demultiply_count is not None:
            merged = (pipeline.demultiply_count,) + merged
        specs.append(TensorSpec(name, types[0], merged))
    return specs
