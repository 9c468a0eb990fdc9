"""An in-process reference of OVMS's DAG semantics, for comparing served answers in tests.

It runs one pipeline of an OVMS config (``pipeline_config_list`` entry) sequentially and simply:
model nodes through callables (e.g. OpenVINO compiled models), custom nodes through
``CustomNodeLibrary`` (initialized per node with the node's params, as OVMS does), pipeline-level
and node-level ``demultiply_count``, ``gather_from_node`` and the response's implicit gathering
through ``backend/demultiplex.py``. No concurrency, no batching: the plain meaning of the config.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ovtriton.backend.custom_node import CustomNodeLibrary
from ovtriton.backend.demultiplex import Branch, demultiply, gather, gather_all

Model = Callable[[dict[str, np.ndarray]], Mapping[str, np.ndarray]]
Results = list[tuple[Branch, dict[str, np.ndarray]]]  # per branch: alias -> tensor


def run_pipeline(
    pipeline: Mapping[str, Any],
    request: Mapping[str, np.ndarray],
    models: Mapping[str, Model],
    libraries: Mapping[str, str],
) -> dict[str, np.ndarray]:
    """The response of ``pipeline`` to ``request``; ``models`` maps ``model_name`` to a callable
    (inputs by model input name -> outputs by model output name); ``libraries`` maps
    ``library_name`` to the ``.so`` path (``custom_node_library_config_list``)."""
    produced: dict[str, Results] = {"request": [((), dict(request))]}
    entry_count = pipeline.get("demultiply_count")
    if entry_count is not None:
        produced["request"] = demultiply("request", dict(request), _count(entry_count))
    pending = list(pipeline["nodes"])
    while pending:
        node = next(n for n in pending if _sources(n) <= produced.keys())
        pending.remove(node)
        produced[node["name"]] = _run_node(node, produced, models, libraries)
    wiring = {name: _source(spec) for item in pipeline["outputs"] for name, spec in item.items()}
    return gather_all(_join(wiring, produced))


def _run_node(
    node: Mapping[str, Any],
    produced: Mapping[str, Results],
    models: Mapping[str, Model],
    libraries: Mapping[str, str],
) -> Results:
    wiring = {name: _source(spec) for item in node["inputs"] for name, spec in item.items()}
    joined = _join(wiring, produced)
    if "gather_from_node" in node:
        joined = gather(joined, [node["gather_from_node"]])
    aliases = {item["data_item"]: item["alias"] for item in node["outputs"]}
    results: Results = []
    run = _runner(node, models, libraries)
    try:
        for branch, inputs in joined:
            outputs = dict(run(inputs))
            if "demultiply_count" in node:
                count = _count(node["demultiply_count"])
                shards = demultiply(node["name"], outputs, count, branch)
            else:
                shards = [(branch, outputs)]
            for sub_branch, tensors in shards:
                results.append(
                    (sub_branch, {aliases[k]: v for k, v in tensors.items() if k in aliases})
                )
    finally:
        closer = getattr(run, "close", None)
        if closer is not None:
            closer()
    return results


class _CustomRunner:
    def __init__(self, path: str, name: str, params: Mapping[str, str]) -> None:
        self.library = CustomNodeLibrary(path, node=name)
        self.library.initialize(params)
        self.params = params

    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self.library.execute(inputs, self.params)

    def close(self) -> None:
        self.library.close()


def _runner(
    node: Mapping[str, Any], models: Mapping[str, Model], libraries: Mapping[str, str]
) -> Model:
    if node["type"] == "custom":
        return _CustomRunner(libraries[node["library_name"]], node["name"], node.get("params", {}))
    return models[node["model_name"]]


def _join(wiring: Mapping[str, tuple[str, str]], produced: Mapping[str, Results]) -> Results:
    """Per branch, the tensors named by ``wiring`` (name -> (node, alias)); every source must
    be at the same demultiplexing level (OVMS's rule)."""
    by_branch: dict[Branch, dict[str, np.ndarray]] = {}
    levels = set()
    for name, (node, alias) in wiring.items():
        for branch, tensors in produced[node]:
            levels.add(tuple(level.node for level in branch))
            by_branch.setdefault(branch, {})[name] = tensors[alias]
    if len(levels) > 1:
        raise ValueError(f"inputs from different demultiplexing levels: {sorted(levels)}")
    return list(by_branch.items())


def _source(spec: Mapping[str, str]) -> tuple[str, str]:
    return spec["node_name"], spec["data_item"]


def _sources(node: Mapping[str, Any]) -> set[str]:
    return {spec["node_name"] for item in node["inputs"] for spec in item.values()}


def _count(value: int) -> int:
    return -1 if value in (-1, 0) else int(value)  # 0 meant dynamic until OVMS 2021.4
