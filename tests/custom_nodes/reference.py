"""An in-process reference of OVMS's DAG semantics, for comparing served answers in tests.

It runs one pipeline of an OVMS config (``pipeline_config_list`` entry) sequentially and simply:
model nodes through callables (e.g. OpenVINO compiled models), custom nodes through
``CustomNodeLibrary`` (initialized per node with the node's params, as OVMS does), pipeline-level
and node-level ``demultiply_count``, ``gather_from_node`` and the response's implicit gathering,
written here with plain NumPy (slicing dim 0, ``np.stack``), independently of the backend's
``demultiplex.py`` it checks. No concurrency, no batching: the plain meaning of the config.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ovtriton.backend.custom_node import CustomNodeLibrary

Level = tuple[str, int, int]  # (demultiplexer, shard index, shard count)
Branch = tuple[Level, ...]  # the demultiplexers a sub-request went through, outermost first
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
        produced["request"] = _demultiply("request", dict(request), _count(entry_count), ())
    pending = list(pipeline["nodes"])
    while pending:
        node = next(n for n in pending if _sources(n) <= produced.keys())
        pending.remove(node)
        produced[node["name"]] = _run_node(node, produced, models, libraries)
    wiring = {name: _source(spec) for item in pipeline["outputs"] for name, spec in item.items()}
    results = _join(wiring, produced)
    while results[0][0]:  # the response gathers every demultiplexer still open
        results = _gather(results, results[0][0][-1][0])
    return results[0][1]


def _run_node(
    node: Mapping[str, Any],
    produced: Mapping[str, Results],
    models: Mapping[str, Model],
    libraries: Mapping[str, str],
) -> Results:
    wiring = {name: _source(spec) for item in node["inputs"] for name, spec in item.items()}
    joined = _join(wiring, produced)
    if "gather_from_node" in node:
        joined = _gather(joined, node["gather_from_node"])
    aliases = {item["data_item"]: item["alias"] for item in node["outputs"]}
    results: Results = []
    run = _runner(node, models, libraries)
    try:
        for branch, inputs in joined:
            outputs = dict(run(inputs))
            if "demultiply_count" in node:
                count = _count(node["demultiply_count"])
                shards = _demultiply(node["name"], outputs, count, branch)
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


def _demultiply(node: str, outputs: dict[str, np.ndarray], count: int, branch: Branch) -> Results:
    """One sub-request per slice of dim 0 (OVMS's demultiply_count; -1: as many as there are)."""
    shards = next(iter(outputs.values())).shape[0]
    for name, tensor in outputs.items():
        where = f"node {node!r} output {name!r} of shape {list(tensor.shape)}"
        if tensor.ndim < 3:
            raise ValueError(f"PIPELINE_WRONG_NUMBER_OF_DIMENSIONS_TO_DEMULTIPLY: {where}")
        wanted = shards if count == -1 else count
        if tensor.shape[0] != wanted:
            raise ValueError(
                f"PIPELINE_WRONG_DIMENSION_SIZE_TO_DEMULTIPLY: {where}: dim 0 must be {wanted}"
            )
    return [
        (branch + ((node, i, shards),), {name: t[i] for name, t in outputs.items()})
        for i in range(shards)
    ]


def _gather(results: Results, node: str) -> Results:
    """Join the sub-requests of demultiplexer ``node``, which must be the innermost one of each
    branch: per outer branch, every tensor's shards stacked in shard order (a new dim 0)."""
    groups: dict[Branch, list[tuple[int, dict[str, np.ndarray]]]] = {}
    for branch, tensors in results:
        if not branch or branch[-1][0] != node:
            raise ValueError(f"gathering {node!r}, but the innermost demultiplexer is {branch}")
        groups.setdefault(branch[:-1], []).append((branch[-1][1], tensors))
    joined: Results = []
    for outer in sorted(groups, key=lambda b: [level[1] for level in b]):
        shards = [tensors for _, tensors in sorted(groups[outer], key=lambda s: s[0])]
        joined.append((outer, {k: np.stack([s[k] for s in shards]) for k in shards[0]}))
    return joined


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
            levels.add(tuple(level[0] for level in branch))
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
