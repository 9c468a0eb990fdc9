"""OVMS's load-time checks of a DAG pipeline (custom nodes, demultiplexing), with JSON paths.

``check_wiring``: names (node inputs and outputs, sources, ``gather_from_node``) and cycles;
``check_types``: demultiplexers and the precisions and shapes of connected tensors
(rules 4, 9 and 16 of OVMS's ``PipelineDefinition::validate``); a library's dynamic
dims fit anything, the rest is checked at run time by the library or by OpenVINO.
"""

from __future__ import annotations

from collections.abc import Mapping

from ovtriton.backend.pipeline_spec import REQUEST

from .custom_nodes import NodeTensors, Tensor
from .errors import Problems
from .graph import check_graph, merge_shapes
from .ovms import Node, Pipeline


def check_wiring(
    pipeline: Pipeline, tensors: Mapping[str, NodeTensors], problems: Problems
) -> None:
    """Names OVMS checks at load: node inputs and outputs, and what each source refers to."""
    aliases = {node.name: {out.alias for out in node.outputs} for node in pipeline.nodes}
    aliases[REQUEST] = set(pipeline.inputs)
    for node in pipeline.nodes:
        own = tensors.get(node.name, NodeTensors({}, {}))
        what = f"node {node.name!r}"
        for item in node.inputs:
            if node.name in tensors and item.input_name not in own.inputs:
                problems.add(
                    item.path,
                    f"{what} has no input {item.input_name!r}",
                    f"its inputs are {sorted(own.inputs)}",
                )
            source = item.source
            if source.node_name not in aliases:
                problems.add(
                    f"{source.path}.node_name",
                    f"no node named {source.node_name!r}",
                    f"the nodes are {sorted(aliases)} ('request' for a pipeline input)",
                )
            elif source.data_item not in aliases[source.node_name]:
                problems.add(
                    f"{source.path}.data_item",
                    f"{source.node_name!r} has no output alias (or input) {source.data_item!r}",
                    f"it has {sorted(aliases[source.node_name])}",
                )
        if node.name not in tensors:
            continue  # its model or library was not found (reported)
        unconnected = sorted(set(own.inputs) - {item.input_name for item in node.inputs})
        if unconnected:
            problems.add(f"{node.path}.inputs", f"{what}: inputs {unconnected} are not connected")
        for out in node.outputs:
            if out.data_item not in own.outputs:
                problems.add(
                    f"{out.path}.data_item",
                    f"{what} has no output {out.data_item!r}",
                    f"its outputs are {sorted(own.outputs)}",
                )
    demultiplexers = {n.name for n in pipeline.nodes if n.demultiply_count is not None}
    # a node whose demultiply_count could not be read was reported: gathering from it is no error
    counts = {n.name: f"{n.path}.demultiply_count" for n in pipeline.nodes}
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
    nodes = {node.name: node for node in pipeline.nodes}
    depends = {
        node.name: {i.source.node_name for i in node.inputs if i.source.node_name in nodes}
        for node in pipeline.nodes
    }
    # unreachable nodes only when every connection is known (no echo of a broken one)
    check_graph(pipeline, nodes, depends, problems, reachability=problems.clean(pipeline.path))


def shard(node: Node, tensor: Tensor) -> Tensor:
    """A node output as the nodes after it see it: without dim 0 when the node demultiplexes."""
    datatype, dims = tensor
    return datatype, tuple(dims[1:]) if node.demultiply_count is not None else tuple(dims)


def check_types(pipeline: Pipeline, tensors: Mapping[str, NodeTensors], problems: Problems) -> None:
    """OVMS's load-time rules on the declared tensors: demultiplexers (one dynamic one alone,
    outputs of rank 3 or more, a static count that dim 0 does not contradict) and every
    node-to-node connection (same precision; same rank, every dim fitting, a demultiplexer's
    dim 0 and a gather's gathered dim left out). Edges from the request are not checked."""
    _check_demultiplexers(pipeline, tensors, problems)
    nodes = {node.name: node for node in pipeline.nodes}
    items = {
        node.name: {out.alias: out.data_item for out in node.outputs} for node in pipeline.nodes
    }
    for node in pipeline.nodes:
        for item in node.inputs:
            source = item.source
            if source.node_name == REQUEST:
                continue
            producer = nodes[source.node_name]
            output = items[producer.name][source.data_item]
            given, given_dims = shard(producer, tensors[producer.name].outputs[output])
            taken, taken_dims = tensors[node.name].inputs[item.input_name]
            if node.gather_from_node is not None:
                taken_dims = taken_dims[1:]  # the gathered dimension
            if given is not None and taken is not None and given != taken:
                problems.add(
                    item.path,
                    f"{source.node_name}:{source.data_item} is {given}, input "
                    f"{item.input_name!r} of node {node.name!r} takes {taken} (OVMS: Precision "
                    "mismatch)",
                    "connect tensors of the same precision",
                )
            elif merge_shapes(given_dims, taken_dims) is None:
                problems.add(
                    item.path,
                    f"OVMS: Shape mismatch between: dependent node: {node.name}; input: "
                    f"{item.input_name}; shape: {list(taken_dims)} vs dependency node: "
                    f"{producer.name}; output: {output}; shape: {list(given_dims)}",
                    "a demultiplexer's outputs lose dim 0, a gather node's inputs their first "
                    "dim; -1 fits any size",
                )


def _check_demultiplexers(
    pipeline: Pipeline, tensors: Mapping[str, NodeTensors], problems: Problems
) -> None:
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
        count = node.demultiply_count
        if count is None:
            continue
        for out in node.outputs:
            _, dims = tensors[node.name].outputs[out.data_item]
            where = f"output {out.data_item!r} of node {node.name!r}"
            if len(dims) < 3:
                problems.add(
                    f"{node.path}.demultiply_count",
                    f"{where} has {len(dims)} dimension(s), a demultiplexer's outputs need 3 "
                    "or more (OVMS: PIPELINE_NOT_ENOUGH_SHAPE_DIMENSIONS_TO_DEMULTIPLY)",
                    "demultiplex a node whose outputs are [N, ...] with 2+ dims per shard",
                )
                break
            if count > 0 and dims[0] not in (-1, count):
                problems.add(
                    f"{node.path}.demultiply_count",
                    f"{where} has dim 0 = {dims[0]}, demultiply_count is {count} (OVMS: "
                    "Demultiply count does not match tensor first dimension)",
                    "make them equal, or use -1 for a count known only at run time",
                )
                break  # one problem per node
