"""Every OVMS pipeline checked once, into one ``CheckedPipeline``: the checker of the converter.

``check_pipeline`` applies OVMS's load-time rules to every pipeline alike, whatever it holds
(models, custom nodes, demultiplexing): names and sources, cycles and reachability
(``graph.py``), types, strings and the shape ranges of every connection (``connections.py``),
demultiplexers and gathers (``demultiplexing.py``), the libraries' metadata (``libraries.py``).
Each broken rule is reported with its JSON path; with none, the ``CheckedPipeline`` is what both
renderings need: a Triton ensemble (``ensembles.py``) or a pipeline model
(``pipeline_model.py``). What the parser could not read is known from the problems already
reported under the pipeline's JSON path (``Problems.clean``), so no echo of those is reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ovtriton.backend.tensors import TensorSpec

from ..errors import Problems
from ..models import ConvertedModel
from ..ovms import Node, Pipeline
from .connections import PipelineCheck, Wire
from .demultiplexing import (
    check_demultiplexers,
    check_gathers,
    levels,
    served_inputs,
    served_output,
)
from .graph import check_graph, in_order, merge_inputs
from .libraries import Libraries
from .nodes import NodeIO, model_io, model_of

__all__ = ["CheckedPipeline", "Libraries", "NodeIO", "Wire", "check_pipeline", "in_order"]


@dataclass(frozen=True)
class CheckedPipeline:
    """A valid pipeline, resolved: what it takes, gives and runs."""

    pipeline: Pipeline
    inputs: tuple[TensorSpec, ...]  # used pipeline inputs as a client sends them
    outputs: tuple[TensorSpec, ...]  # named as the pipeline outputs, as the response gives them
    output_wires: tuple[Wire, ...]  # the source of each output; ("request", x) passes x through
    nodes: Mapping[str, NodeIO]  # node name -> its model or library

    @property
    def needs_pipeline_model(self) -> bool:
        """Custom nodes or demultiplexing: Triton's ensembles run neither."""
        return self.pipeline.needs_pipeline_model


def check_pipeline(
    pipeline: Pipeline,
    models: Mapping[str, ConvertedModel],
    declared: Mapping[str, tuple[str, ...]],
    problems: Problems,
    libraries: Libraries | None = None,
) -> CheckedPipeline | None:
    """The checked pipeline, or None after reporting every problem found."""
    check = PipelineCheck(pipeline, problems)
    nodes = check.unique_nodes()
    resolved = {
        name: found
        for name, node in nodes.items()
        if (found := _io(node, models, declared, libraries, problems))
    }
    seen_inputs: set[str] = set()
    for name in pipeline.inputs:
        if name in seen_inputs:
            problems.warn(f"{pipeline.path}.inputs", f"input {name!r} is declared twice")
        seen_inputs.add(name)
    for node in nodes.values():
        _check_node_outputs(node, resolved.get(node.name), problems)
    before = len(problems)
    check_gathers(pipeline, problems)
    check_demultiplexers(pipeline, resolved, problems)
    # a shard's shape is known only when the demultiplexing is valid: else types only
    check.exact = check.exact and len(problems) == before
    depends, consumers = check.node_inputs(nodes, resolved)
    outputs, output_wires = check.outputs(nodes, resolved, seen_inputs)
    check_graph(pipeline, nodes, depends, problems, reachability=not check.dangling(nodes))
    passed = {wire[1] for wire in output_wires if wire[0] == "request"}
    inputs = merge_inputs(pipeline, consumers, passed, problems, shapes=check.exact)
    if not problems.clean(pipeline.path) or len(resolved) != len(nodes):
        return None  # the problems of this pipeline or of an unread model were reported
    opened = levels(pipeline, [n.name for n in in_order(pipeline.nodes)], problems)
    if opened is None:
        return None
    inputs = served_inputs(pipeline, inputs)
    by_name = {spec.name: spec for spec in inputs}
    served = []
    for spec, wire, out in zip(outputs, output_wires, pipeline.outputs):
        if wire[0] == "request":  # a passed-through input gives its output its type and shape
            spec = TensorSpec(spec.name, by_name[wire[1]].datatype, by_name[wire[1]].shape)
        elif not spec.datatype:
            problems.add(
                out.path,
                f"{resolved[wire[0]].label} gives no precision for {wire[1]!r}",
                "OVMS needs a precision from getOutputsInfo or from a connected model",
            )
        served.append(served_output(spec, pipeline, wire[0], opened["response"]))
    if not problems.clean(pipeline.path):
        return None
    return CheckedPipeline(pipeline, inputs, tuple(served), tuple(output_wires), resolved)


def _io(
    node: Node,
    models: Mapping[str, ConvertedModel],
    declared: Mapping[str, tuple[str, ...]],
    libraries: Libraries | None,
    problems: Problems,
) -> NodeIO | None:
    if node.library_name is not None and libraries is not None:
        return libraries.node_io(node)
    model = model_of(node, models, declared, problems)
    return model_io(model) if model is not None else None


def _check_node_outputs(node: Node, io: NodeIO | None, problems: Problems) -> None:
    aliases: set[str] = set()
    for out in node.outputs:
        if out.alias in aliases:
            problems.add(
                f"{out.path}.alias", f"alias {out.alias!r} is used twice in node {node.name!r}"
            )
        aliases.add(out.alias)
        if io and io.output(out.data_item) is None:
            problems.add(
                f"{out.path}.data_item",
                f"{io.label} has no output {out.data_item!r}",
                f"its outputs are {[s.name for s in io.outputs]}",
            )
