"""A checked pipeline (``CheckedPipeline``) -> a Triton ensemble config: the rendering that
runs each node as a model of its own (the other is ``pipeline_model.py``).

Tensor naming: pipeline inputs and outputs keep their OVMS names (the ensemble's public
inputs and outputs). A model output that feeds a pipeline output is written straight to that
output's tensor. Every other intermediate gets the internal name ``<node>/<alias>``, which
never leaves the server. Steps follow the nodes' order in the config; Triton dispatches each
step as soon as its inputs are ready, so independent branches run concurrently.

Two things OVMS allows have no direct form in an ensemble: an output reading ``request``, and
a second output reading a model output already written to another output. Each becomes a
step of a generated identity model (``identity.py``) copying the tensor to the output.
"""

from __future__ import annotations

from dataclasses import dataclass

from tritonclient.grpc import model_config_pb2

from . import pbtxt
from .identity import INPUT, OUTPUT, identity_name
from .pipeline_check import CheckedPipeline, Wire


@dataclass(frozen=True)
class Copy:
    """An identity step: ensemble tensor ``source`` -> output ``target`` (type, rank given)."""

    source: str
    target: str
    datatype: str
    rank: int

    @property
    def model_name(self) -> str:
        return identity_name(self.datatype, self.rank)


def tensor_names(checked: CheckedPipeline) -> tuple[dict[Wire, str], list[Copy]]:
    """Ensemble tensor name of every wire that some step or output reads, and the copies."""
    names: dict[Wire, str] = {("request", spec.name): spec.name for spec in checked.inputs}
    copies = []
    for spec, wire in zip(checked.outputs, checked.output_wires):
        if wire in names:  # a pipeline input, or a tensor already written to another output
            copies.append(Copy(names[wire], spec.name, spec.datatype, len(spec.shape)))
        else:
            names[wire] = spec.name
    taken = set(names.values()) | {spec.name for spec in checked.outputs}
    for node in checked.pipeline.nodes:
        for item in node.inputs:
            wire = _wire(checked, item.source.node_name, item.source.data_item)
            if wire in names:
                continue
            candidate = f"{item.source.node_name}/{item.source.data_item}"
            while candidate in taken:  # only if a pipeline input/output is literally "a/b"
                candidate += "_"
            names[wire] = candidate
            taken.add(candidate)
    return names, copies


def ensemble_config(checked: CheckedPipeline) -> tuple[model_config_pb2.ModelConfig, list[Copy]]:
    """The ensemble, and the identity steps it uses (their models must be written too)."""
    pipeline = checked.pipeline
    config = model_config_pb2.ModelConfig(name=pipeline.name, platform="ensemble", max_batch_size=0)
    pbtxt.add_tensors(config.input, checked.inputs, batched=False)
    pbtxt.add_tensors(config.output, checked.outputs, batched=False)
    names, copies = tensor_names(checked)
    for node in pipeline.nodes:
        step = config.ensemble_scheduling.step.add(
            model_name=_model_name(checked, node.name),
            model_version=node.version if node.version else -1,
        )
        for item in node.inputs:
            step.input_map[item.input_name] = names[
                _wire(checked, item.source.node_name, item.source.data_item)
            ]
        for out in node.outputs:
            wire = (node.name, out.data_item)
            if wire in names:  # only what is read: Triton refuses unused ensemble tensors
                step.output_map[out.data_item] = names[wire]
    for copy in copies:
        step = config.ensemble_scheduling.step.add(model_name=copy.model_name, model_version=-1)
        step.input_map[INPUT] = copy.source
        step.output_map[OUTPUT] = copy.target
    return config, copies


def _wire(checked: CheckedPipeline, node_name: str, data_item: str) -> Wire:
    if node_name == "request":
        return ("request", data_item)
    node = next(n for n in checked.pipeline.nodes if n.name == node_name)
    return (node_name, next(o.data_item for o in node.outputs if o.alias == data_item))


def _model_name(checked: CheckedPipeline, node: str) -> str:
    model = checked.nodes[node].model
    if model is None:  # the caller renders only pipelines without custom nodes as ensembles
        raise ValueError(f"node {node!r} runs no model: only a pipeline model runs it")
    return model.entry.name
