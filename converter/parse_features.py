"""OVMS features ovtriton does not serve (custom loaders, MediaPipe graphs), named in every
spelling, their syntax still checked.

A config that uses such a feature *and* is invalid for another reason reports both: the
feature by name and every error OVMS's schema would find in its fields (a loader entry without
``library_path``, a MediaPipe entry without ``name``). A MediaPipe graph is named as MediaPipe
whatever spells it: ``mediapipe_config_list``, or a ``model_config_list`` entry with
``graph_path``/``subconfig`` (its ``base_path`` is optional then, as in OVMS), or a base path
holding ``graph.pbtxt`` (``sources.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import PathPart
from .schema import Reader

MEDIAPIPE = "MediaPipe graphs are not supported; serve their models one by one"
LOADERS = (
    "custom model loaders are not supported; decrypt or fetch the model files before converting"
)
MEDIAPIPE_KEYS = ("graph_path", "subconfig")
# OVMS's metric families (src/metrics/metric_config.hpp: the default and additional ones);
# a metrics_list naming anything else is refused with INVALID_METRICS_FAMILY_NAME
METRIC_FAMILIES = (
    "ovms_current_requests",
    "ovms_requests_success",
    "ovms_requests_fail",
    "ovms_request_time_us",
    "ovms_streams",
    "ovms_inference_time_us",
    "ovms_wait_for_infer_req_time_us",
    "ovms_current_graphs",
    "ovms_requests_accepted",
    "ovms_requests_rejected",
    "ovms_graph_error",
    "ovms_graph_processing_time_us",
    "ovms_responses",
    "ovms_infer_req_queue_size",
    "ovms_infer_req_active",
)

TOP_UNSUPPORTED = {
    "custom_loader_config_list": LOADERS,
    "mediapipe_config_list": MEDIAPIPE,
}


def top_features(read: Reader, top: Mapping[str, Any]) -> None:
    """Name each top-level feature list in use and check its entries as OVMS's schema does."""
    for key, hint in TOP_UNSUPPORTED.items():
        value = top.get(key)
        if value in (None, []):  # an empty list asks for nothing
            continue
        read.add([key], f"{key!r} is not supported by ovtriton yet", hint)
        for index, item in enumerate(read.array(value, [key]) or []):
            _entry(read, key, item, [key, index])


def metrics_list(read: Reader, value: Any, parts: list[PathPart]) -> None:
    """``monitoring.metrics.metrics_list``: OVMS refuses the config when a name is not one of
    its metric families, or names one twice (its family set then does not grow)."""
    seen: set[str] = set()
    for index, item in enumerate(read.array(value, parts) or []):
        name = read.string(item, [*parts, index])
        if name is None:
            continue
        if name not in METRIC_FAMILIES:
            read.add(
                [*parts, index],
                f"{name!r} is not an OVMS metric family (OVMS: Invalid name in metrics_list, "
                "INVALID_METRICS_FAMILY_NAME)",
                f"use one of {', '.join(METRIC_FAMILIES)}",
            )
        elif name in seen:
            read.add(
                [*parts, index],
                f"{name!r} is listed twice (OVMS: Invalid name in metrics_list, "
                "INVALID_METRICS_FAMILY_NAME)",
                "list each metric family once",
            )
        seen.add(name)


def _entry(read: Reader, key: str, item: Any, parts: list[PathPart]) -> None:
    """One entry of a feature list, its fields checked."""
    if key == "custom_loader_config_list":
        wrapper = read.obj(item, parts, ("config",), required=("config",))
        if wrapper and "config" in wrapper:
            fields = ("loader_name", "library_path", "loader_config_file")
            _strings(read, wrapper["config"], [*parts, "config"], fields, fields[:2])
    else:
        _strings(read, item, parts, ("name", "base_path", "graph_path", "subconfig"), ("name",))


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
