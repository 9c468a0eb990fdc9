"""``pipeline_config_list`` -> ``Pipeline`` dataclasses, naming the DAG features Triton lacks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import PathPart, json_path
from .ovms import Node, NodeInput, NodeOutput, Pipeline, PipelineOutput, Source
from .parse_features import demultiply_count, gathered_nodes, node_features
from .schema import Reader
from .sources import MAX_VERSION

NODE_KEYS = ("name", "type", "model_name", "version", "inputs", "outputs", "params")
NODE_FEATURES = ("library_name", "demultiply_count", "gather_from_node")  # parse_features


def parse_pipeline(
    read: Reader, item: Any, parts: list[PathPart], libraries: frozenset[str] = frozenset()
) -> Pipeline | None:
    """The pipeline, also when parts of it have problems (reported under its JSON path).

    ``libraries`` are the names in ``custom_node_library_config_list``.
    """
    raw = read.obj(
        item,
        parts,
        ("name", "inputs", "nodes", "outputs", "demultiply_count"),
        required=("name", "inputs", "nodes", "outputs"),
    )
    if raw is None:
        return None
    if "demultiply_count" in raw:
        demultiply_count(read, raw["demultiply_count"], [*parts, "demultiply_count"])
    name = read.string(raw.get("name"), [*parts, "name"]) if "name" in raw else None
    inputs = read.each(raw.get("inputs", []), [*parts, "inputs"], read.string)
    nodes = read.each(
        raw.get("nodes", []), [*parts, "nodes"], lambda v, at: _node(read, v, at, libraries)
    )
    if isinstance(raw.get("nodes"), list):
        gathered_nodes(read, raw["nodes"], [*parts, "nodes"])
    outputs = read.each(
        raw.get("outputs", []), [*parts, "outputs"], lambda v, at: _output(read, v, at)
    )
    return Pipeline(json_path(*parts), name or "", tuple(inputs), tuple(nodes), tuple(outputs))


def _output(read: Reader, entry: Any, parts: list[PathPart]) -> PipelineOutput | None:
    pair = read.single_key(entry, parts, "the output name")
    source = _source(read, pair[1], [*parts, pair[0]]) if pair else None
    return PipelineOutput(json_path(*parts), pair[0], source) if pair and source else None


def _node(read: Reader, item: Any, parts: list[PathPart], libraries: frozenset[str]) -> Node | None:
    raw = read.obj(
        item, parts, NODE_KEYS + NODE_FEATURES, required=("name", "type", "inputs", "outputs")
    )
    if raw is None:
        return None
    name = read.string(raw.get("name"), [*parts, "name"]) if "name" in raw else None
    kind = raw.get("type")
    node_features(read, raw, parts, libraries)
    if "type" in raw and kind not in ("DL model", "custom"):
        read.add([*parts, "type"], f"type {kind!r} is not 'DL model' or 'custom'")
    if kind == "DL model" and "model_name" not in raw:
        read.missing(parts, "model_name", "the name of a model in model_config_list")
    model = (
        read.string(raw.get("model_name"), [*parts, "model_name"]) if "model_name" in raw else None
    )
    version = (
        read.integer(raw["version"], [*parts, "version"], 1, MAX_VERSION)
        if "version" in raw
        else None
    )
    if "params" in raw:
        params = read.obj(
            raw["params"],
            [*parts, "params"],
            tuple(raw["params"]) if isinstance(raw["params"], dict) else (),
        )
        for key, value in (params or {}).items():
            read.string(value, [*parts, "params", key], nonempty=False)  # OVMS: strings only
        if kind != "custom":
            read.problems.warn(
                json_path(*parts, "params"), "ignored: params only reach custom nodes"
            )
    inputs = read.each(
        raw.get("inputs", []), [*parts, "inputs"], lambda v, at: _node_input(read, v, at)
    )
    outputs = read.each(
        raw.get("outputs", []), [*parts, "outputs"], lambda v, at: _node_output(read, v, at)
    )
    if name is None:
        return None
    model = None if kind == "custom" else model  # a custom node runs a library, not a model
    return Node(json_path(*parts), name, model, version, tuple(inputs), tuple(outputs))


def _node_input(read: Reader, entry: Any, parts: list[PathPart]) -> NodeInput | None:
    pair = read.single_key(entry, parts, "the model input name")
    source = _source(read, pair[1], [*parts, pair[0]]) if pair else None
    return NodeInput(json_path(*parts), pair[0], source) if pair and source else None


def _node_output(read: Reader, entry: Any, parts: list[PathPart]) -> NodeOutput | None:
    out = read.obj(entry, parts, ("data_item", "alias"), required=("data_item", "alias"))
    if not out or "data_item" not in out or "alias" not in out:
        return None
    item_name = read.string(out["data_item"], [*parts, "data_item"])
    alias = read.string(out["alias"], [*parts, "alias"])
    return NodeOutput(json_path(*parts), item_name, alias) if item_name and alias else None


def _source(read: Reader, value: Any, parts: Sequence[PathPart]) -> Source | None:
    raw = read.obj(value, parts, ("node_name", "data_item"), required=("node_name", "data_item"))
    if raw is None or "node_name" not in raw or "data_item" not in raw:
        return None
    node = read.string(raw["node_name"], [*parts, "node_name"])
    item = read.string(raw["data_item"], [*parts, "data_item"])
    return Source(json_path(*parts), node, item) if node and item else None
