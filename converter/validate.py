"""OVMS's load-time rules for names and pipelines, checked against the converted models.

``check_pipeline`` reports every broken rule with its JSON path and, when there is none, returns
the ``Wiring`` that ``ensembles.py`` turns into a Triton ensemble.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ovtriton.backend.dtypes import short_name
from ovtriton.backend.tensors import TensorSpec

from .errors import Problems
from .graph import check_graph, merge_inputs, merge_shapes
from .models import ConvertedModel
from .ovms import Node, Pipeline, Source

PSEUDO_NODES = ("request", "response")
Wire = tuple[str, str]  # (node name, model output name); ("request", pipeline input) for inputs


@dataclass(frozen=True)
class Wiring:
    """A valid pipeline, resolved: what the ensemble takes, gives and runs."""

    pipeline: Pipeline
    inputs: tuple[TensorSpec, ...]  # used pipeline inputs, each the merge of its consumers
    outputs: tuple[TensorSpec, ...]  # named as the pipeline outputs
    output_wires: tuple[Wire, ...]  # the source of each output; ("request", x) passes x through
    models: Mapping[str, ConvertedModel]  # node name -> model


def check_pipeline(
    pipeline: Pipeline,
    models: Mapping[str, ConvertedModel],
    broken: frozenset[str],
    problems: Problems,
) -> Wiring | None:
    before = len(problems)
    nodes: dict[str, Node] = {}
    for node in pipeline.nodes:
        if node.name in PSEUDO_NODES:
            problems.add(
                f"{node.path}.name", f"node name {node.name!r} is reserved", "rename the node"
            )
        elif node.name in nodes:
            problems.add(
                f"{node.path}.name",
                f"node name {node.name!r} is used twice in this pipeline",
                "node names must be unique within a pipeline",
            )
        else:
            nodes[node.name] = node
    resolved = {
        name: m for name, node in nodes.items() if (m := _model_of(node, models, broken, problems))
    }
    seen_inputs: set[str] = set()
    for name in pipeline.inputs:
        if name in seen_inputs:
            problems.warn(f"{pipeline.path}.inputs", f"input {name!r} is declared twice")
        seen_inputs.add(name)
    for node in nodes.values():
        _check_node_outputs(node, resolved.get(node.name), problems)
    depends: dict[str, set[str]] = {name: set() for name in nodes}
    consumers: dict[str, list[tuple[str, TensorSpec]]] = {}
    for node in nodes.values():
        model = resolved.get(node.name)
        connected: set[str] = set()
        for item in node.inputs:
            target = model.input(item.input_name) if model else None
            if model and target is None:
                problems.add(
                    item.path,
                    f"model {model.entry.name!r} has no input {item.input_name!r}",
                    f"its inputs are {[s.name for s in model.inputs]}",
                )
            if item.input_name in connected:
                problems.add(
                    item.path,
                    f"input {item.input_name!r} of node {node.name!r} is connected more than once",
                    "connect each model input to one source",
                )
            connected.add(item.input_name)
            source = _check_source(item.source, pipeline, nodes, resolved, problems)
            if item.source.node_name in nodes:
                depends[node.name].add(item.source.node_name)
            if source is None or target is None:
                continue
            if item.source.node_name == "request":
                consumers.setdefault(item.source.data_item, []).append((item.path, target))
            else:
                _check_edge(item.path, target, source, problems, shapes=pipeline.exact)
        if model and not node.partial:  # an unreadable connection was reported already
            missing = [s.name for s in model.inputs if s.name not in connected]
            if missing:
                problems.add(
                    f"{node.path}.inputs",
                    f"node {node.name!r} leaves input(s) {missing} unconnected",
                    "connect every model input to a pipeline input or a node alias",
                )
    outputs, output_wires = _check_outputs(pipeline, nodes, resolved, seen_inputs, problems)
    sources = [i.source for n in pipeline.nodes for i in n.inputs] + [
        o.source for o in pipeline.outputs
    ]
    dangling = (
        pipeline.lost
        or len(nodes) != len(pipeline.nodes)
        or any(n.partial for n in pipeline.nodes)
        or any(s.node_name not in nodes and s.node_name != "request" for s in sources)
    )
    check_graph(pipeline, nodes, depends, problems, reachability=not dangling)
    passed = {wire[1] for wire in output_wires if wire[0] == "request"}
    inputs = merge_inputs(pipeline, consumers, passed, problems, shapes=pipeline.exact)
    if len(problems) != before or not pipeline.exact or len(resolved) != len(nodes):
        return None  # the problems of an inexact pipeline or unread model were reported already
    by_name = {spec.name: spec for spec in inputs}
    outputs = [  # a passed-through input gives its output the input's type and shape
        TensorSpec(spec.name, by_name[wire[1]].datatype, by_name[wire[1]].shape)
        if wire[0] == "request"
        else spec
        for spec, wire in zip(outputs, output_wires)
    ]
    return Wiring(pipeline, inputs, tuple(outputs), tuple(output_wires), resolved)


def _check_outputs(
    pipeline: Pipeline,
    nodes: Mapping[str, Node],
    resolved: Mapping[str, ConvertedModel],
    input_names: set[str],
    problems: Problems,
) -> tuple[list[TensorSpec], list[Wire]]:
    """Each pipeline output and its wire; a wire may feed several outputs (OVMS allows it)."""
    outputs, output_wires = [], []
    names: set[str] = set()
    if not pipeline.outputs and not pipeline.lost:
        problems.add(
            f"{pipeline.path}.outputs",
            "the pipeline has no outputs",
            "name at least one output, from a node alias or from 'request'",
        )
    for out in pipeline.outputs:
        if out.name in names:
            problems.add(out.path, f"output name {out.name!r} is used twice", "rename one output")
        if out.name in input_names:
            problems.add(
                out.path,
                f"output {out.name!r} has the name of a pipeline input",
                "Triton ensembles need distinct input and output names; rename one",
            )
        names.add(out.name)
        source = _check_source(out.source, pipeline, nodes, resolved, problems)
        if source is None:
            continue
        wire = (out.source.node_name, source.name)
        output_wires.append(wire)
        outputs.append(TensorSpec(out.name, source.datatype, source.shape))
    return outputs, output_wires


def _model_of(
    node: Node, models: Mapping[str, ConvertedModel], broken: frozenset[str], problems: Problems
) -> ConvertedModel | None:
    if node.model_name is None:  # a custom node, or model_name unreadable (reported already)
        return None
    model = models.get(node.model_name)
    if model is None:
        if node.model_name not in broken:  # a broken model was reported already
            problems.add(
                f"{node.path}.model_name",
                f"no model named {node.model_name!r}",
                f"define it in model_config_list; known models: {sorted(models)}",
            )
        return None
    if node.version is not None and node.version not in model.versions:
        problems.add(
            f"{node.path}.version",
            f"model {model.entry.name!r} does not serve version {node.version}",
            f"served versions: {list(model.versions)}",
        )
        return None
    if model.entry.uses_auto:
        problems.add(
            f"{node.path}.model_name",
            f"model {model.entry.name!r} sets batch_size or shape "
            "to 'auto', which OVMS forbids in pipelines",
            "use dynamic dimensions (-1) instead",
        )
        return None
    return model


def _check_node_outputs(node: Node, model: ConvertedModel | None, problems: Problems) -> None:
    aliases: set[str] = set()
    for out in node.outputs:
        if out.alias in aliases:
            problems.add(
                f"{out.path}.alias", f"alias {out.alias!r} is used twice in node {node.name!r}"
            )
        aliases.add(out.alias)
        if model and model.output(out.data_item) is None:
            problems.add(
                f"{out.path}.data_item",
                f"model {model.entry.name!r} has no output {out.data_item!r}",
                f"its outputs are {[s.name for s in model.outputs]}",
            )


def _check_source(
    source: Source,
    pipeline: Pipeline,
    nodes: Mapping[str, Node],
    resolved: Mapping[str, ConvertedModel],
    problems: Problems,
) -> TensorSpec | None:
    """The tensor a source refers to (a placeholder for pipeline inputs), or None."""
    if source.node_name == "request":
        if source.data_item not in pipeline.inputs and not pipeline.lost:
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
    if node is None and not pipeline.lost:
        problems.add(
            f"{source.path}.node_name",
            f"there is no node {source.node_name!r}",
            f"nodes of this pipeline: {sorted(nodes)} and 'request'",
        )
    if node is None:
        return None
    out = next((o for o in node.outputs if o.alias == source.data_item), None)
    if out is None and not node.partial:
        problems.add(
            f"{source.path}.data_item",
            f"node {node.name!r} has no output alias {source.data_item!r}",
            f"its aliases are {[o.alias for o in node.outputs]}",
        )
    if out is None:
        return None
    model = resolved.get(node.name)
    spec = model.output(out.data_item) if model else None
    return spec


def _check_edge(
    path: str, target: TensorSpec, source: TensorSpec, problems: Problems, shapes: bool
) -> None:
    """Types must match; shapes too, unless unsupported features (demultiplexing) change them."""
    if target.datatype != source.datatype:
        problems.add(
            path,
            f"data type mismatch: input {target.name!r} takes "
            f"{short_name(target.datatype)}, output {source.name!r} gives "
            f"{short_name(source.datatype)}",
            "connect tensors of the same type",
        )
    elif shapes and merge_shapes(target.shape, source.shape) is None:
        problems.add(
            path,
            f"shape mismatch: input {target.name!r} takes {list(target.shape)}, output "
            f"{source.name!r} gives {list(source.shape)}",
            "set shape or batch_size so they fit",
        )
