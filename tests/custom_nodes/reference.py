"""An in-process reference of OVMS's DAG semantics, for comparing served answers in tests.

It runs one pipeline of an OVMS config (``pipeline_config_list`` entry) sequentially and simply:
model nodes through callables (e.g. OpenVINO compiled models), custom nodes through
``CustomNodeLibrary`` (initialized per node with the node's params, as OVMS does), pipeline-level
and node-level ``demultiply_count``, ``gather_from_node`` and the response's implicit gathering,
written here with plain indexing and ``np.stack`` from OVMS's docs/demultiplexing.md (not with
the backend's ``demultiplex.py``: a gathering bug there must not pass on both sides). No
concurrency, no batching: the plain meaning of the config.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ovtriton.backend.custom_node import CustomNodeLibrary

Model = Callable[[dict[str, np.ndarray]], Mapping[str, np.ndarray]]
Branch = tuple[tuple[str, int], ...]  # (demultiplexer, shard index), outermost first
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
        produced["request"] = demultiply("request", dict(request), _count(entry_count), ())
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
            levels.add(tuple(demultiplexer for demultiplexer, _ in branch))
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


def demultiply(node: str, outputs: Mapping[str, np.ndarray], count: int, branch: Branch) -> Results:
    """One sub-request per index of dim 0 of every output (``count`` -1: whatever dim 0 is)."""
    sizes = {tensor.shape[0] for tensor in outputs.values()}
    if len(sizes) != 1 or (count != -1 and sizes != {count}):
        raise ValueError(
            f"PIPELINE_WRONG_DIMENSION_SIZE_TO_DEMULTIPLY: node {node!r} outputs have dim 0 "
            f"{sorted(sizes)}, demultiply_count {count}"
        )
    (size,) = sizes
    if size == 0:
        raise ValueError(f"PIPELINE_DEMULTIPLEXER_NO_RESULTS: node {node!r} gave 0 results")
    return [
        (branch + ((node, index),), {name: t[index] for name, t in outputs.items()})
        for index in range(size)
    ]


def gather(results: Results, nodes: list[str]) -> Results:
    """Join the sub-requests of the innermost demultiplexers ``nodes``: each tensor gets one
    leading dim per demultiplexer, outermost first, shards in index order."""
    depth = len(nodes)
    groups: dict[Branch, list[tuple[tuple[int, ...], dict[str, np.ndarray]]]] = {}
    for branch, tensors in results:
        outer, inner = branch[: len(branch) - depth], branch[len(branch) - depth :]
        if [demultiplexer for demultiplexer, _ in inner] != nodes:
            raise ValueError(f"gathering {nodes} but the innermost demultiplexers are {inner}")
        groups.setdefault(outer, []).append((tuple(index for _, index in inner), tensors))
    joined: Results = []
    for outer, shards in groups.items():
        shards.sort(key=lambda shard: shard[0])
        counts = tuple(max(index[d] for index, _ in shards) + 1 for d in range(depth))
        assert len(shards) == int(np.prod(counts)), f"missing shards under {outer}"
        stacked = {
            name: np.stack([tensors[name] for _, tensors in shards]).reshape(
                counts + shards[0][1][name].shape
            )
            for name in shards[0][1]
        }
        joined.append((outer, stacked))
    return joined


def gather_all(results: Results) -> dict[str, np.ndarray]:
    """The response: every demultiplexer still open is gathered there."""
    open_levels = [demultiplexer for demultiplexer, _ in results[0][0]]
    if not open_levels:
        return dict(results[0][1])
    ((_, tensors),) = gather(results, open_levels)
    return tensors
