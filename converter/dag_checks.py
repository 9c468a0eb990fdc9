"""OVMS's load-time checks of a DAG pipeline (custom nodes, demultiplexing), with JSON paths.

``check_wiring``: names (node inputs and outputs, sources, ``gather_from_node``) and cycles;
``check_types``: precisions of connected tensors and static ``demultiply_count`` against the
demultiplexer's outputs. Shapes beyond dim 0 are checked at run time (by the library or by
OpenVINO), as a library's declared dims may be dynamic.
"""

from __future__ import annotations

from collections.abc import Mapping

from ovtriton.backend.pipeline_spec import REQUEST

from .custom_nodes import NodeTensors, Tensor
from .errors import Problems
from .graph import check_graph
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
    for node in pipeline.nodes:
        if node.gather_from_node is not None and node.gather_from_node not in demultiplexers:
            problems.add(
                f"{node.path}.gather_from_node",
                f"{node.gather_from_node!r} is not a demultiplexing node of this pipeline "
                "(OVMS: Gather node refers to node that isn't demultiplexer)",
                f"name the node (with demultiply_count) whose sub-requests this node joins; "
                f"the demultiplexers are {sorted(demultiplexers)}",
            )
    nodes = {node.name: node for node in pipeline.nodes}
    depends = {
        node.name: {i.source.node_name for i in node.inputs if i.source.node_name in nodes}
        for node in pipeline.nodes
    }
    check_graph(pipeline, nodes, depends, problems, reachability=False)


def shard(node: Node, tensor: Tensor) -> Tensor:
    """A node output as the nodes after it see it: without dim 0 when the node demultiplexes."""
    datatype, dims = tensor
    return datatype, tuple(dims[1:]) if node.demultiply_count is not None else tuple(dims)


def check_types(pipeline: Pipeline, tensors: Mapping[str, NodeTensors], problems: Problems) -> None:
    """Connected tensors of different precisions, and a static ``demultiply_count`` that the
    demultiplexer's declared dim 0 contradicts (OVMS refuses both when it loads the pipeline)."""
    nodes = {node.name: node for node in pipeline.nodes}
    items = {
        node.name: {out.alias: out.data_item for out in node.outputs} for node in pipeline.nodes
    }
    for node in pipeline.nodes:
        count = node.demultiply_count
        for out in node.outputs:
            _, dims = tensors[node.name].outputs[out.data_item]
            if count is not None and count > 0 and dims and dims[0] not in (-1, count):
                problems.add(
                    f"{node.path}.demultiply_count",
                    f"output {out.data_item!r} of node {node.name!r} has dim 0 = {dims[0]}, "
                    f"demultiply_count is {count} (OVMS: Demultiply count does not match "
                    "tensor first dimension)",
                    "make them equal, or use -1 for a count known only at run time",
                )
                break  # one problem per node
        for item in node.inputs:
            source = item.source
            if source.node_name == REQUEST:
                continue
            producer = nodes[source.node_name]
            given = shard(
                producer, tensors[producer.name].outputs[items[producer.name][source.data_item]]
            )[0]
            taken = tensors[node.name].inputs[item.input_name][0]
            if given is not None and taken is not None and given != taken:
                problems.add(
                    item.path,
                    f"{source.node_name}:{source.data_item} is {given}, input "
                    f"{item.input_name!r} of node {node.name!r} takes {taken} (OVMS: Invalid "
                    "input precision)",
                    "connect tensors of the same precision",
                )
