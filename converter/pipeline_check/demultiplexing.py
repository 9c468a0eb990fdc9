"""OVMS's load-time rules on demultiplexing (``demultiply_count``, ``gather_from_node``), and
what they make of the pipeline's inputs and outputs.

The rules (OVMS's ``PipelineDefinition::validate``): a gather names a demultiplexer (the
entry, ``request``, when the pipeline has ``demultiply_count``); a dynamic demultiplexer (-1)
is the only one; a demultiplexer's outputs have 3+ dims, dim 0 not contradicting a static
count; no string is demultiplexed (PIPELINE_STRING_DEMUILTIPLICATION_UNSUPPORTED); every input
of a node comes from one level, gathers in LIFO order (the backend's ``node_levels``, the same
rule the pipeline model checks at load).
"""

from __future__ import annotations

from collections.abc import Mapping

from ovtriton.backend.demultiplex import gathered_dims
from ovtriton.backend.pipeline_spec import REQUEST, NodeSpec, node_levels
from ovtriton.backend.signature import bounds_text
from ovtriton.backend.tensors import TensorSpec

from ..errors import Problems
from ..ovms import Node, Pipeline
from .nodes import NodeIO

STRINGS = "TYPE_STRING"
_STRING_DEMUX = "OVMS: Demultiplication is not supported for string precision, " + (
    "PIPELINE_STRING_DEMUILTIPLICATION_UNSUPPORTED"
)


def check_gathers(pipeline: Pipeline, problems: Problems) -> None:
    """Each ``gather_from_node`` names a demultiplexer of the pipeline."""
    demultiplexers = {n.name for n in pipeline.nodes if n.demultiply_count is not None}
    if pipeline.demultiply_count is not None:
        demultiplexers.add(REQUEST)  # the entry: OVMS's "request" node demultiplexes then
    # a node whose demultiply_count could not be read was reported: gathering from it is no error
    counts = {n.name: f"{n.path}.demultiply_count" for n in pipeline.nodes}
    counts[REQUEST] = f"{pipeline.path}.demultiply_count"
    for node in pipeline.nodes:
        if node.gather_from_node is not None and node.gather_from_node not in demultiplexers:
            problems.add(
                f"{node.path}.gather_from_node",
                f"{node.gather_from_node!r} is not a demultiplexing node of this pipeline "
                "(OVMS: Gather node refers to node that isn't demultiplexer)",
                f"name the node (with demultiply_count) whose sub-requests this node joins; "
                f"the demultiplexers are {sorted(demultiplexers)}",
                unless=[counts[node.gather_from_node]] if node.gather_from_node in counts else [],
            )


def check_demultiplexers(
    pipeline: Pipeline, nodes: Mapping[str, NodeIO], problems: Problems
) -> None:
    """The demultiplexers: one dynamic one alone, outputs of rank 3+, a static count that dim 0
    does not contradict, no strings."""
    counts = [(node.path, node.demultiply_count) for node in pipeline.nodes]
    counts.append((pipeline.path, pipeline.demultiply_count))
    counts = [(path, count) for path, count in counts if count is not None]
    for path, count in counts:
        if count == -1 and len(counts) > 1:
            problems.add(
                f"{path}.demultiply_count",
                "a dynamic demultiplexer (-1) must be the only one of its pipeline (OVMS: "
                "NOT_IMPLEMENTED)",
                "give the nested demultiplexers fixed counts",
            )
    for node in pipeline.nodes:
        io = nodes.get(node.name)
        entry = pipeline.demultiply_count is not None
        for item in node.inputs:
            spec = io.input(item.input_name) if io else None
            demultiplexed = node.demultiply_count is not None or (
                entry and item.source.node_name == REQUEST
            )
            if spec is not None and spec.datatype == STRINGS and demultiplexed:
                problems.add(
                    item.path,
                    f"input {item.input_name!r} of node {node.name!r} takes strings, which a "
                    f"demultiplexing pipeline cannot split ({_STRING_DEMUX})",
                    "demultiplex before or after the nodes that take strings, or not at all",
                )
        if node.demultiply_count is None or io is None:
            continue
        count = node.demultiply_count
        for out in node.outputs:
            spec = io.output(out.data_item)
            if spec is None:
                continue  # reported
            where = f"output {out.data_item!r} of node {node.name!r}"
            if len(spec.shape) < 3:
                problems.add(
                    f"{node.path}.demultiply_count",
                    f"{where} has {len(spec.shape)} dimension(s), a demultiplexer's outputs "
                    "need 3 or more (OVMS: PIPELINE_NOT_ENOUGH_SHAPE_DIMENSIONS_TO_DEMULTIPLY)",
                    "demultiplex a node whose outputs are [N, ...] with 2+ dims per shard",
                )
                break
            if count > 0 and spec.shape[0] not in (-1, count):
                problems.add(
                    f"{node.path}.demultiply_count",
                    f"{where} has dim 0 = {spec.shape[0]}, demultiply_count is {count} (OVMS: "
                    "Demultiply count does not match tensor first dimension)",
                    "make them equal, or use -1 for a count known only at run time",
                )
                break  # one problem per node
    for node in pipeline.nodes:  # after every demultiplexer's own problems are known
        _check_gathered_count(pipeline, node, nodes.get(node.name), problems)


def _check_gathered_count(
    pipeline: Pipeline, node: Node, io: NodeIO | None, problems: Problems
) -> None:
    """A gathering node's inputs from other nodes hold the shards in dim 0: a fixed dim 0 must
    be the gathered demultiplexer's static count (OVMS checks only node-to-node inputs)."""
    counts = {n.name: (n.demultiply_count, n.path) for n in pipeline.nodes}
    counts[REQUEST] = (pipeline.demultiply_count, pipeline.path)
    count, where = counts.get(node.gather_from_node or "", (None, ""))
    if io is None or count is None or count == -1:
        return
    if not problems.clean(f"{where}.demultiply_count"):
        return  # the demultiplexer's problem is reported: its shards are unknown
    for item in node.inputs:
        spec = io.input(item.input_name)
        if spec is None or item.source.node_name == REQUEST or not spec.shape:
            continue
        bounds = io.bounds_of(spec)
        low, high = bounds[0]
        if not low <= count <= (count if high is None else high):
            problems.add(
                item.path,
                f"input {item.input_name!r} of node {node.name!r} takes {bounds_text(bounds)}, "
                f"whose dim 0 cannot hold the {count} shards of {node.gather_from_node!r} "
                "gathered there (OVMS: PIPELINE_DEMULTIPLY_COUNT_DOES_NOT_MATCH_TENSOR_SHARD_COUNT)",
                "make dim 0 of the input the demultiply_count, or -1",
            )


def levels(pipeline: Pipeline, order: list[str], problems: Problems) -> dict | None:
    """The demultiplexers open where each node runs and at the response (``node_levels``), or
    None after reporting a node reading two levels or a gather out of LIFO order."""
    by_name = {node.name: node for node in pipeline.nodes}
    specs = [
        NodeSpec(
            name,
            "model",
            "",
            1,
            {i.input_name: (i.source.node_name, i.source.data_item) for i in by_name[name].inputs},
            {},
            demultiply=by_name[name].demultiply_count,
            gather=by_name[name].gather_from_node,
        )
        for name in order
    ]
    outputs = {o.name: (o.source.node_name, o.source.data_item) for o in pipeline.outputs}
    try:
        return node_levels(specs, outputs, pipeline.demultiply_count)
    except ValueError as exc:
        problems.add(pipeline.path, str(exc))
        return None


def served_inputs(pipeline: Pipeline, inputs: tuple[TensorSpec, ...]) -> tuple[TensorSpec, ...]:
    """The inputs a client sends: with the entry's shard count in front when it demultiplexes."""
    count = pipeline.demultiply_count
    if count is None:
        return inputs
    return tuple(TensorSpec(s.name, s.datatype, gathered_dims(s.shape, [count])) for s in inputs)


def served_output(
    spec: TensorSpec, pipeline: Pipeline, source: str, opened: tuple[str, ...]
) -> TensorSpec:
    """A pipeline output as the response gives it: a demultiplexer's output as one shard, then
    one leading dim per demultiplexer the response gathers (-1 when dynamic)."""
    counts = {node.name: node.demultiply_count for node in pipeline.nodes}
    counts[REQUEST] = pipeline.demultiply_count
    dims = spec.shape
    if source == REQUEST:
        return spec  # the pipeline input as the client sent it
    if counts.get(source) is not None:
        dims = dims[1:]
    return TensorSpec(
        spec.name, spec.datatype, gathered_dims(dims, [counts[n] or 0 for n in opened])
    )
