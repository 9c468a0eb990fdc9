"""OVMS's load-time rules for pipelines, checked against the converted models.

``check_pipeline`` reports every broken rule with its JSON path and, when there is none, returns
the ``Wiring`` that ``ensembles.py`` turns into a Triton ensemble. What the parser could not
read is known from the problems already reported under the pipeline's JSON path
(``Problems.clean``), so no echo of those is reported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ovtriton.backend.tensors import TensorSpec

from .connections import PipelineCheck, Wire
from .errors import Problems
from .graph import check_graph, merge_inputs
from .models import ConvertedModel
from .ovms import Node, Pipeline

__all__ = ["Wire", "Wiring", "check_pipeline"]


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
    declared: Mapping[str, tuple[str, ...]],
    problems: Problems,
) -> Wiring | None:
    """The pipeline's wiring, or None after reporting why it cannot be an ensemble."""
    check = PipelineCheck(pipeline, problems)
    nodes = check.unique_nodes()
    resolved = {
        name: m for name, node in nodes.items() if (m := model_of(node, models, declared, problems))
    }
    seen_inputs: set[str] = set()
    for name in pipeline.inputs:
        if name in seen_inputs:
            problems.warn(f"{pipeline.path}.inputs", f"input {name!r} is declared twice")
        seen_inputs.add(name)
    for node in nodes.values():
        _check_node_outputs(node, resolved.get(node.name), problems)
    depends, consumers = check.node_inputs(nodes, resolved)
    outputs, output_wires = check.outputs(nodes, resolved, seen_inputs)
    check_graph(pipeline, nodes, depends, problems, reachability=not check.dangling(nodes))
    passed = {wire[1] for wire in output_wires if wire[0] == "request"}
    inputs = merge_inputs(pipeline, consumers, passed, problems, shapes=check.exact)
    if not problems.clean(pipeline.path) or len(resolved) != len(nodes):
        return None  # the problems of this pipeline or of an unread model were reported
    by_name = {spec.name: spec for spec in inputs}
    outputs = [  # a passed-through input gives its output the input's type and shape
        TensorSpec(spec.name, by_name[wire[1]].datatype, by_name[wire[1]].shape)
        if wire[0] == "request"
        else spec
        for spec, wire in zip(outputs, output_wires)
    ]
    return Wiring(pipeline, inputs, tuple(outputs), tuple(output_wires), resolved)


def model_of(
    node: Node,
    models: Mapping[str, ConvertedModel],
    declared: Mapping[str, tuple[str, ...]],
    problems: Problems,
) -> ConvertedModel | None:
    """The model a node runs, or None after reporting why it cannot (ensembles and DAGs alike)."""
    if node.model_name is None:  # a custom node, or model_name unreadable (reported already)
        return None
    model = models.get(node.model_name)
    if model is None:  # unless it is declared, and its problems were reported
        problems.add(
            f"{node.path}.model_name",
            f"no model named {node.model_name!r}",
            f"define it in model_config_list; known models: {sorted(models)}",
            unless=declared.get(node.model_name, ()),
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
