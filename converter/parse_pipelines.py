"""``pipeline_config_list`` -> ``Pipeline`` dataclasses, naming the DAG features Triton lacks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import PathPart, json_path
from .ovms import Node, NodeInput, NodeOutput, Pipeline, PipelineOutput, Source
from .schema import Reader
from .sources import MAX_VERSION

BLS = "a Triton BLS model (Python) can do this; convert that part by hand"
NODE_UNSUPPORTED = {
    "demultiply_count": f"demultiplexing is not supported by Triton ensembles; {BLS}",
    "gather_from_node": f"gathering is not supported by Triton ensembles; {BLS}",
    "library_name": f"custom node libraries (.so) cannot run in Triton; {BLS}",
}


def parse_pipeline(read: Reader, item: Any, parts: list[PathPart]) -> Pipeline | None:
    """The pipeline, also when parts of it have problems (see ``Pipeline.exact``/``lost``)."""
    before = len(read.problems)
    raw = read.obj(
        item,
        parts,
        ("name", "inputs", "nodes", "outputs"),
        required=("name", "inputs", "nodes", "outputs"),
        unsupported={"demultiply_count": NODE_UNSUPPORTED["demultiply_count"]},
    )
    if raw is None:
        return None
    name = read.string(raw.get("name"), [*parts, "name"]) if "name" in raw else None
    raw_inputs = read.array(raw.get("inputs", []), [*parts, "inputs"])
    inputs = [read.string(v, [*parts, "inputs", i]) for i, v in enumerate(raw_inputs or [])]
    raw_nodes = read.array(raw.get("nodes", []), [*parts, "nodes"])
    nodes = [_node(read, v, [*parts, "nodes", i]) for i, v in enumerate(raw_nodes or [])]
    raw_outputs = read.array(raw.get("outputs", []), [*parts, "outputs"])
    outputs = []
    for i, entry in enumerate(raw_outputs or []):
        pair = read.single_key(entry, [*parts, "outputs", i], "the output name")
        source = _source(read, pair[1], [*parts, "outputs", i, pair[0]]) if pair else None
        if pair and source:
            outputs.append(PipelineOutput(json_path(*parts, "outputs", i), pair[0], source))
    lost = (
        any(key not in raw for key in ("inputs", "nodes", "outputs"))
        or _lost(raw_inputs, [i for i in inputs if i is not None])
        or _lost(raw_nodes, [n for n in nodes if n is not None])
        or _lost(raw_outputs, outputs)
    )
    return Pipeline(
        json_path(*parts),
        name or "",
        tuple(i for i in inputs if i is not None),
        tuple(n for n in nodes if n is not None),
        tuple(outputs),
        exact=len(read.problems) == before,
        lost=lost,
    )


def _lost(raw: list[Any] | None, read: Sequence[Any]) -> bool:
    """Whether entries of an array (or the array itself) could not be read."""
    return raw is None or len(read) != len(raw)


def _node(read: Reader, item: Any, parts: list[PathPart]) -> Node | None:
    raw = read.obj(
        item,
        parts,
        ("name", "type", "model_name", "version", "inputs", "outputs", "params"),
        required=("name", "type", "inputs", "outputs"),
        unsupported=NODE_UNSUPPORTED,
    )
    if raw is None:
        return None
    name = read.string(raw.get("name"), [*parts, "name"]) if "name" in raw else None
    kind = raw.get("type")
    if kind == "custom":
        read.add(
            [*parts, "type"],
            "custom nodes are not supported by ovtriton yet",
            NODE_UNSUPPORTED["library_name"],
        )
    elif "type" in raw and kind != "DL model":
        read.add([*parts, "type"], f"type {kind!r} is not 'DL model' or 'custom'")
    if kind == "DL model" and "model_name" not in raw:
        read.add(
            parts, "missing required key 'model_name'", "the name of a model in model_config_list"
        )
    model = (
        read.string(raw.get("model_name"), [*parts, "model_name"]) if "model_name" in raw else None
    )
    version = (
        read.integer(raw["version"], [*parts, "version"], 1, MAX_VERSION)
        if "version" in raw
        else None
    )
    if "params" in raw:
        read.obj(
            raw["params"],
            [*parts, "params"],
            tuple(raw["params"]) if isinstance(raw["params"], dict) else (),
        )
        read.problems.warn(json_path(*parts, "params"), "ignored: params only reach custom nodes")
    raw_inputs = read.array(raw.get("inputs", []), [*parts, "inputs"])
    inputs = []
    for i, entry in enumerate(raw_inputs or []):
        pair = read.single_key(entry, [*parts, "inputs", i], "the model input name")
        source = _source(read, pair[1], [*parts, "inputs", i, pair[0]]) if pair else None
        if pair and source:
            inputs.append(NodeInput(json_path(*parts, "inputs", i), pair[0], source))
    raw_outputs = read.array(raw.get("outputs", []), [*parts, "outputs"])
    outputs = []
    for i, entry in enumerate(raw_outputs or []):
        out = read.obj(
            entry, [*parts, "outputs", i], ("data_item", "alias"), required=("data_item", "alias")
        )
        if out and "data_item" in out and "alias" in out:
            item_name = read.string(out["data_item"], [*parts, "outputs", i, "data_item"])
            alias = read.string(out["alias"], [*parts, "outputs", i, "alias"])
            if item_name and alias:
                outputs.append(NodeOutput(json_path(*parts, "outputs", i), item_name, alias))
    if name is None:
        return None
    partial = (
        "inputs" not in raw
        or "outputs" not in raw
        or _lost(raw_inputs, inputs)
        or _lost(raw_outputs, outputs)
    )
    model = None if kind == "custom" else model  # a custom node runs a library, not a model
    return Node(json_path(*parts), name, model, version, tuple(inputs), tuple(outputs), partial)


def _source(read: Reader, value: Any, parts: Sequence[PathPart]) -> Source | None:
    raw = read.obj(value, parts, ("node_name", "data_item"), required=("node_name", "data_item"))
    if raw is None or "node_name" not in raw or "data_item" not in raw:
        return None
    node = read.string(raw["node_name"], [*parts, "node_name"])
    item = read.string(raw["data_item"], [*parts, "data_item"])
    return Source(json_path(*parts), node, item) if node and item else None
