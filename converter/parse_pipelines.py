"""``pipeline_config_list`` -> ``Pipeline`` dataclasses, custom node libraries included.

Custom nodes, ``demultiply_count`` and ``gather_from_node`` are read here; such pipelines are
converted to pipeline models (``pipeline_model.py``), as Triton's ensembles cannot run them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import PathPart, json_path
from .ovms import CustomLibrary, Node, NodeInput, NodeOutput, Pipeline, PipelineOutput, Source
from .schema import Reader
from .sources import MAX_VERSION

BLS = "a Triton BLS model (Python) can do this; convert that part by hand"
NODE_KEYS = ("name", "type", "model_name", "version", "inputs", "outputs", "params")
DAG_KEYS = ("library_name", "demultiply_count", "gather_from_node")


def parse_pipeline(read: Reader, item: Any, parts: list[PathPart]) -> Pipeline | None:
    """The pipeline, also when parts of it have problems (reported under its JSON path)."""
    raw = read.obj(
        item,
        parts,
        ("name", "inputs", "nodes", "outputs", "demultiply_count"),
        required=("name", "inputs", "nodes", "outputs"),
    )
    if raw is None:
        return None
    name = read.string(raw.get("name"), [*parts, "name"]) if "name" in raw else None
    inputs = read.each(raw.get("inputs", []), [*parts, "inputs"], read.string)
    nodes = read.each(raw.get("nodes", []), [*parts, "nodes"], lambda v, at: _node(read, v, at))
    outputs = read.each(
        raw.get("outputs", []), [*parts, "outputs"], lambda v, at: _output(read, v, at)
    )
    entry = _count(read, raw, parts)
    return Pipeline(
        json_path(*parts), name or "", tuple(inputs), tuple(nodes), tuple(outputs), entry
    )


def _count(read: Reader, raw: dict[str, Any], parts: list[PathPart]) -> int | None:
    """``demultiply_count``: N, or -1 (0 meant -1 until OVMS 2021.4) for dynamic."""
    if "demultiply_count" not in raw:
        return None
    count = read.integer(raw["demultiply_count"], [*parts, "demultiply_count"], -1, 10_000)
    return -1 if count == 0 else count


def _output(read: Reader, entry: Any, parts: list[PathPart]) -> PipelineOutput | None:
    pair = read.single_key(entry, parts, "the output name")
    source = _source(read, pair[1], [*parts, pair[0]]) if pair else None
    return PipelineOutput(json_path(*parts), pair[0], source) if pair and source else None


def _node(read: Reader, item: Any, parts: list[PathPart]) -> Node | None:
    raw = read.obj(
        item, parts, NODE_KEYS + DAG_KEYS, required=("name", "type", "inputs", "outputs")
    )
    if raw is None:
        return None
    name = read.string(raw.get("name"), [*parts, "name"]) if "name" in raw else None
    kind = raw.get("type")
    if kind == "custom" and "library_name" not in raw:
        read.missing(parts, "library_name", "the name of a custom_node_library_config_list entry")
    elif "type" in raw and kind not in ("DL model", "custom"):
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
    params: dict[str, str] = {}
    if "params" in raw and read.obj(
        raw["params"],
        [*parts, "params"],
        tuple(raw["params"]) if isinstance(raw["params"], dict) else (),
    ):
        for key, value in raw["params"].items():
            text = read.string(value, [*parts, "params", key], nonempty=False)
            params[key] = text or ""
        if kind != "custom":
            read.problems.warn(
                json_path(*parts, "params"), "ignored: params only reach custom nodes"
            )
    library = (
        read.string(raw["library_name"], [*parts, "library_name"])
        if kind == "custom" and "library_name" in raw
        else None
    )
    if "library_name" in raw and kind != "custom":
        read.add([*parts, "library_name"], "library_name is for nodes of type 'custom'")
    gather = (
        read.string(raw["gather_from_node"], [*parts, "gather_from_node"])
        if "gather_from_node" in raw
        else None
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
    return Node(
        json_path(*parts),
        name,
        model,
        version,
        tuple(inputs),
        tuple(outputs),
        library,
        params,
        _count(read, raw, parts),
        gather,
    )


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


def parse_libraries(read: Reader, value: Any) -> tuple[CustomLibrary, ...]:
    """``custom_node_library_config_list``: ``{"name", "base_path"}`` entries (the .so files)."""
    libraries = []
    for index, item in enumerate(read.array(value, ["custom_node_library_config_list"]) or []):
        parts: list[PathPart] = ["custom_node_library_config_list", index]
        raw = read.obj(item, parts, ("name", "base_path"), required=("name", "base_path"))
        if raw is None or "name" not in raw or "base_path" not in raw:
            continue
        name = read.string(raw["name"], [*parts, "name"])
        base_path = read.string(raw["base_path"], [*parts, "base_path"])
        if name and base_path:
            libraries.append(CustomLibrary(json_path(*parts), name, base_path))
    return tuple(libraries)
