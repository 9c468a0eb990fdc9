"""The connections of one pipeline: node inputs, pipeline outputs and the sources they read.

One set of rules for every pipeline, whatever its nodes run (a model or a custom node
library, ``nodes.py``): names, types, strings, and the shape ranges of every node-to-node
connection (OVMS's INVALID_SHAPE), with a demultiplexer's outputs seen without their dim 0
and a gathering node's inputs without the gathered dim, as the nodes after them see them.

``PipelineCheck`` knows what the parser could not read of the pipeline (from the problems
already reported, ``Problems.clean``/``readable``), so it reports no echo of those.
"""

from __future__ import annotations

from collections.abc import Mapping

from ovtriton.backend.dtypes import short_name
from ovtriton.backend.signature import Bound, bounds_text, overlap
from ovtriton.backend.tensors import TensorSpec

from ..errors import Problems
from ..ovms import Node, Pipeline, Source
from .graph import Consumer
from .nodes import ANY, NodeIO

PSEUDO_NODES = ("request", "response")
Wire = tuple[str, str]  # (node name, model output name); ("request", pipeline input) for inputs
End = tuple[str, TensorSpec, tuple[Bound, ...]]  # node name, tensor, (min, max) per dimension


class PipelineCheck:
    """One pipeline's checks, knowing what the parser could read of it.

    Taken from the problems reported before the checks start: ``exact`` (nothing reported
    under the pipeline: shapes can be compared; demultiplexing, say, would change them),
    ``lost`` (inputs, nodes or outputs partly unreadable: "missing" and "does not reach the
    response" would only echo that) and ``partial`` (nodes whose connections are partly
    unreadable).
    """

    def __init__(self, pipeline: Pipeline, problems: Problems) -> None:
        self.pipeline = pipeline
        self.problems = problems
        self.exact = problems.clean(pipeline.path)
        self.lost = not all(
            problems.readable(f"{pipeline.path}.{key}") for key in ("inputs", "nodes", "outputs")
        )
        self.partial = frozenset(  # JSON paths of the nodes
            node.path
            for node in pipeline.nodes
            if not (
                problems.readable(f"{node.path}.inputs")
                and problems.readable(f"{node.path}.outputs")
            )
        )

    def dangling(self, nodes: Mapping[str, Node]) -> bool:
        """Whether a connection is broken (reported already), so that "does not lead to the
        response" would only echo it."""
        pipeline = self.pipeline
        sources = [i.source for n in pipeline.nodes for i in n.inputs]
        sources += [o.source for o in pipeline.outputs]
        return (
            self.lost
            or len(nodes) != len(pipeline.nodes)
            or bool(self.partial)
            or any(s.node_name not in nodes and s.node_name != "request" for s in sources)
        )

    def unique_nodes(self) -> dict[str, Node]:
        """Nodes by name; reserved and repeated names are reported and left out."""
        nodes: dict[str, Node] = {}
        for node in self.pipeline.nodes:
            if node.name in PSEUDO_NODES:
                self.problems.add(
                    f"{node.path}.name", f"node name {node.name!r} is reserved", "rename the node"
                )
            elif node.name in nodes:
                self.problems.add(
                    f"{node.path}.name",
                    f"node name {node.name!r} is used twice in this pipeline",
                    "node names must be unique within a pipeline",
                )
            else:
                nodes[node.name] = node
        return nodes

    def node_inputs(
        self, nodes: Mapping[str, Node], resolved: Mapping[str, NodeIO]
    ) -> tuple[dict[str, set[str]], dict[str, list[Consumer]]]:
        """Check every node input; returns the dependencies between nodes and, for each
        pipeline input, the model inputs it feeds (path, spec, bounds)."""
        depends: dict[str, set[str]] = {name: set() for name in nodes}
        consumers: dict[str, list[Consumer]] = {}
        for node in nodes.values():
            model = resolved.get(node.name)
            connected: set[str] = set()
            for item in node.inputs:
                target = model.input(item.input_name) if model else None
                if model and target is None:
                    self.problems.add(
                        item.path,
                        f"{model.label} has no input {item.input_name!r}",
                        f"its inputs are {[s.name for s in model.inputs]}",
                    )
                if item.input_name in connected:
                    self.problems.add(
                        item.path,
                        f"input {item.input_name!r} of node {node.name!r} is connected more "
                        "than once",
                        "connect each model input to one source",
                    )
                connected.add(item.input_name)
                source = self.source(item.source, nodes, resolved)
                if item.source.node_name in nodes:
                    depends[node.name].add(item.source.node_name)
                if source is None or target is None or model is None:
                    continue
                taken = _taken(node, model, target)
                if item.source.node_name == "request":
                    use = (item.path, target, taken)
                    consumers.setdefault(item.source.data_item, []).append(use)
                elif self.exact:  # else the shapes read may be wrong: types only
                    producer = nodes[item.source.node_name]
                    given = _given(producer, resolved[producer.name], source)
                    _check_edge(
                        item.path,
                        (node.name, target, taken),
                        (producer.name, source, given),
                        self.problems,
                    )
                else:
                    producer_name = item.source.node_name
                    _check_types(
                        item.path, (node.name, target), (producer_name, source), self.problems
                    )
            if model and node.path not in self.partial:  # else reported as unreadable already
                missing = [s.name for s in model.inputs if s.name not in connected]
                if missing:
                    self.problems.add(
                        f"{node.path}.inputs",
                        f"node {node.name!r} leaves input(s) {missing} unconnected",
                        "connect every model input to a pipeline input or a node alias",
                    )
        return depends, consumers

    def outputs(
        self,
        nodes: Mapping[str, Node],
        resolved: Mapping[str, NodeIO],
        input_names: set[str],
    ) -> tuple[list[TensorSpec], list[Wire]]:
        """Each pipeline output and its wire; a wire may feed several outputs (OVMS allows it)."""
        pipeline = self.pipeline
        outputs, output_wires = [], []
        names: set[str] = set()
        if not pipeline.outputs and not self.lost:
            self.problems.add(
                f"{pipeline.path}.outputs",
                "the pipeline has no outputs",
                "name at least one output, from a node alias or from 'request'",
            )
        for out in pipeline.outputs:
            if out.name in names:
                self.problems.add(
                    out.path, f"output name {out.name!r} is used twice", "rename one output"
                )
            if out.name in input_names:
                self.problems.add(
                    out.path,
                    f"output {out.name!r} has the name of a pipeline input",
                    "Triton ensembles need distinct input and output names; rename one",
                )
            names.add(out.name)
            source = self.source(out.source, nodes, resolved)
            if source is None:
                continue
            output_wires.append((out.source.node_name, source.name))
            outputs.append(TensorSpec(out.name, source.datatype, source.shape))
        return outputs, output_wires

    def source(
        self, source: Source, nodes: Mapping[str, Node], resolved: Mapping[str, NodeIO]
    ) -> TensorSpec | None:
        """The tensor a source refers to (a placeholder for pipeline inputs), or None."""
        pipeline, problems = self.pipeline, self.problems
        if source.node_name == "request":
            if source.data_item not in pipeline.inputs and not self.lost:
                problems.add(
                    f"{source.path}.data_item",
                    f"the pipeline has no input {source.data_item!r}",
                    f"add it to the pipeline's inputs; they are {list(pipeline.inputs)}",
                )
                return None
            return TensorSpec(source.data_item, "", ())
        if source.node_name == "response":
            problems.add(
                f"{source.path}.node_name",
                "'response' cannot be a source",
                "read from 'request' or from a node",
            )
            return None
        node = nodes.get(source.node_name)
        if node is None and not self.lost:
            problems.add(
                f"{source.path}.node_name",
                f"there is no node {source.node_name!r}",
                f"nodes of this pipeline: {sorted(nodes)} and 'request'",
            )
        if node is None:
            return None
        out = next((o for o in node.outputs if o.alias == source.data_item), None)
        if out is None and node.path not in self.partial:
            problems.add(
                f"{source.path}.data_item",
                f"node {node.name!r} has no output alias {source.data_item!r}",
                f"its aliases are {[o.alias for o in node.outputs]}",
            )
        if out is None:
            return None
        model = resolved.get(node.name)
        return model.output(out.data_item) if model else None


def _taken(node: Node, io: NodeIO, spec: TensorSpec) -> tuple[Bound, ...]:
    """What a node input takes of each sub-request: a gathering node's inputs hold the
    gathered shards in front (dim 0), the rest is one shard."""
    bounds = io.bounds_of(spec)
    return bounds[1:] if node.gather_from_node is not None else bounds


def _given(node: Node, io: NodeIO, spec: TensorSpec) -> tuple[Bound, ...]:
    """What a node output gives the nodes after it: one shard (without dim 0) when the node
    demultiplexes."""
    bounds = io.bounds_of(spec)
    return bounds[1:] if node.demultiply_count is not None else bounds


def _check_types(
    path: str, target: tuple[str, TensorSpec], source: tuple[str, TensorSpec], problems: Problems
) -> bool:
    (node, target_spec), (producer, source_spec) = target, source
    if target_spec.datatype == source_spec.datatype or ANY in (
        target_spec.datatype,
        source_spec.datatype,
    ):
        return True
    problems.add(
        path,
        f"data type mismatch: node {node!r} input {target_spec.name!r} takes "
        f"{short_name(target_spec.datatype)}, node {producer!r} output {source_spec.name!r} "
        f"gives {short_name(source_spec.datatype)}",
        "connect tensors of the same type (OVMS refuses this pipeline too: Precision mismatch)",
    )
    return False


def _check_edge(path: str, target: End, source: End, problems: Problems) -> None:
    """Types must match, and shapes meet: same rank, each dimension's ranges overlapping
    (OVMS's INVALID_SHAPE: ``30:40`` feeding ``41:60`` can never carry a request)."""
    (node, target_spec, target_bounds), (producer, source_spec, source_bounds) = target, source
    if not _check_types(path, (node, target_spec), (producer, source_spec), problems):
        return
    if target_spec.datatype == "TYPE_STRING":
        problems.add(
            path,
            f"node {producer!r} output {source_spec.name!r} gives strings to node {node!r}; "
            "OVMS does not pass strings from model to model (NOT_IMPLEMENTED)",
            "feed the strings to each model from the pipeline's request instead",
        )
    elif not overlap(target_bounds, source_bounds):
        problems.add(
            path,
            f"shape mismatch: node {node!r} input {target_spec.name!r} takes "
            f"{bounds_text(target_bounds)}, node {producer!r} output {source_spec.name!r} gives "
            f"{bounds_text(source_bounds)}; no shape fits both",
            "set shape or batch_size so they fit (OVMS refuses this pipeline too: INVALID_SHAPE)",
        )
