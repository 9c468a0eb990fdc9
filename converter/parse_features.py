"""OVMS features ovtriton does not serve yet, named in every spelling, their syntax still checked.

A config that uses such a feature *and* is invalid for another reason reports both: the
feature by name (``UNSUPPORTED``) and every error OVMS's schema and load-time checks would
find in its fields (a custom node without ``library_name``, a ``demultiply_count`` out of
range, a ``gather_from_node`` naming no demultiplexer, a library entry without ``base_path``).
A MediaPipe graph is named as MediaPipe whatever spells it: ``mediapipe_config_list``, or a
``model_config_list`` entry with ``graph_path``/``subconfig`` (its ``base_path`` is optional
then, as in OVMS), or a base path holding ``graph.pbtxt`` (``sources.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import PathPart, json_path
from .schema import Reader

BLS = "a Triton BLS model (Python) can do this; convert that part by hand"
MEDIAPIPE = "MediaPipe graphs are not supported; serve their models one by one"
LOADERS = (
    "custom model loaders are not supported; decrypt or fetch the model files before converting"
)
LIBRARIES = f"custom node libraries (.so) cannot run in Triton; {BLS}"
DEMULTIPLEXING = f"demultiplexing is not supported by Triton ensembles; {BLS}"
GATHERING = f"gathering is not supported by Triton ensembles; {BLS}"
MEDIAPIPE_KEYS = ("graph_path", "subconfig")
MAX_DEMULTIPLY = 10000  # OVMS's schema maximum

TOP_UNSUPPORTED = {
    "custom_node_library_config_list": LIBRARIES,
    "custom_loader_config_list": LOADERS,
    "mediapipe_config_list": MEDIAPIPE,
}


def top_features(read: Reader, top: Mapping[str, Any]) -> frozenset[str]:
    """Name each top-level feature list in use and check its entries as OVMS's schema does;
    returns the custom node library names declared (nodes' ``library_name`` must be one)."""
    libraries: set[str] = set()
    for key, hint in TOP_UNSUPPORTED.items():
        value = top.get(key)
        if value in (None, []):  # an empty list asks for nothing
            continue
        read.add([key], f"{key!r} is not supported by ovtriton yet", hint)
        for index, item in enumerate(read.array(value, [key]) or []):
            name = _entry(read, key, item, [key, index])
            if name is not None:
                libraries.add(name)
    return frozenset(libraries)


def _entry(read: Reader, key: str, item: Any, parts: list[PathPart]) -> str | None:
    """One entry of a feature list; the library name for ``custom_node_library_config_list``."""
    if key == "custom_loader_config_list":
        wrapper = read.obj(item, parts, ("config",), required=("config",))
        if wrapper and "config" in wrapper:
            fields = ("loader_name", "library_path", "loader_config_file")
            _strings(read, wrapper["config"], [*parts, "config"], fields, fields[:2])
        return None
    if key == "mediapipe_config_list":
        _strings(read, item, parts, ("name", "base_path", "graph_path", "subconfig"), ("name",))
        return None
    found = _strings(read, item, parts, ("name", "base_path"), ("name", "base_path"))
    return found.get("name")


def _strings(
    read: Reader, value: Any, parts: list[PathPart], known: tuple[str, ...], required: tuple
) -> dict[str, str]:
    """An object of string fields; the ones that could be read."""
    raw = read.obj(value, parts, known, required=required)
    found = {}
    for field in known:
        if raw is not None and field in raw:
            text = read.string(raw[field], [*parts, field])
            if text is not None:
                found[field] = text
    return found


def model_features(read: Reader, raw: Mapping[str, Any], parts: list[PathPart]) -> bool:
    """A model entry read by a custom loader or being a MediaPipe graph: named, its fields
    checked. True when the entry is a MediaPipe graph (``base_path`` is optional then)."""
    if "custom_loader_options" in raw:
        where = [*parts, "custom_loader_options"]
        read.add(where, "'custom_loader_options' is not supported by ovtriton yet", LOADERS)
        options = read.obj(
            raw["custom_loader_options"],
            where,
            tuple(raw["custom_loader_options"])
            if isinstance(raw["custom_loader_options"], dict)
            else (),
            required=("loader_name",),
        )
        if options and "loader_name" in options:
            read.string(options["loader_name"], [*where, "loader_name"])
    graph = [key for key in MEDIAPIPE_KEYS if key in raw]
    if graph:
        read.add(
            [*parts, graph[0]],
            f"{graph[0]!r} makes this entry a MediaPipe graph, which ovtriton does not support yet",
            MEDIAPIPE,
        )
        for key in graph:
            read.string(raw[key], [*parts, key])
    return bool(graph)


def node_features(
    read: Reader, raw: Mapping[str, Any], parts: list[PathPart], libraries: frozenset[str] | None
) -> None:
    """A node's custom library, ``demultiply_count`` and ``gather_from_node``: named, and
    checked as OVMS does (``library_name`` only and always on custom nodes, declared)."""
    kind = raw.get("type")
    if kind == "custom":
        read.add([*parts, "type"], "custom nodes are not supported by ovtriton yet", LIBRARIES)
        if "model_name" in raw:
            read.add(
                [*parts, "model_name"],
                "a custom node runs a library, not a model",
                "remove model_name, or make the node a 'DL model'",
            )
        if "library_name" not in raw:
            read.missing(parts, "library_name", "a name from custom_node_library_config_list")
    elif "library_name" in raw:
        read.add(
            [*parts, "library_name"],
            "library_name is only for nodes of type 'custom'",
            "remove it, or set type to 'custom'",
        )
    if "library_name" in raw:
        name = read.string(raw["library_name"], [*parts, "library_name"])
        if name is not None and libraries is not None and name not in libraries:
            read.add(
                [*parts, "library_name"],
                f"no custom node library named {name!r}",
                f"declare it in custom_node_library_config_list; declared: {sorted(libraries)}",
            )
    if "demultiply_count" in raw:
        demultiply_count(read, raw["demultiply_count"], [*parts, "demultiply_count"])
    if "gather_from_node" in raw:
        where = [*parts, "gather_from_node"]
        read.add(where, "'gather_from_node' is not supported by ovtriton yet", GATHERING)
        read.string(raw["gather_from_node"], where)


def demultiply_count(read: Reader, value: Any, parts: list[PathPart]) -> None:
    """Named as unsupported; an integer from -1 (dynamic) to 10000, as OVMS's schema says."""
    read.add(parts, "'demultiply_count' is not supported by ovtriton yet", DEMULTIPLEXING)
    if read.integer(value, parts, -1, MAX_DEMULTIPLY) == 0:
        read.problems.warn(
            json_path(*parts),
            "demultiply_count 0 means -1 (dynamic) and is deprecated in OVMS",
            "write -1",
        )


def gathered_nodes(read: Reader, nodes: list[Any], parts: list[PathPart]) -> None:
    """Each ``gather_from_node`` names a node of the pipeline that demultiplexes (OVMS's
    PIPELINE_NODE_GATHER_FROM_NOT_EXISTING_NODE / ..._NOT_DEMULTIPLEXER)."""
    by_name = {
        n["name"]: n for n in nodes if isinstance(n, dict) and isinstance(n.get("name"), str)
    }
    for index, node in enumerate(nodes):
        if not isinstance(node, dict) or not isinstance(node.get("gather_from_node"), str):
            continue
        target = node["gather_from_node"]
        where = [*parts, index, "gather_from_node"]
        if target not in by_name:
            read.add(
                where,
                f"gathers from {target!r}, which is not a node of this pipeline",
                f"name a demultiplexing node: {sorted(by_name)}",
            )
        elif "demultiply_count" not in by_name[target]:
            read.add(
                where,
                f"gathers from node {target!r}, which does not demultiplex",
                f"set demultiply_count on {target!r}, or remove gather_from_node",
            )
