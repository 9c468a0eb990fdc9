"""A checked pipeline (``Wiring``) -> a Triton ensemble config.

Tensor naming: pipeline inputs and outputs keep their OVMS names (the ensemble's public
inputs and outputs). A model output that feeds a pipeline output is written straight to that
output's tensor. Every other intermediate gets the internal name ``<node>/<alias>``, which
never leaves the server. Steps follow the nodes' order in the config; Triton dispatches each
step as soon as its inputs are ready, so independent branches run concurrently.
"""

from __future__ import annotations

from tritonclient.grpc import model_config_pb2

from . import pbtxt
from .validate import Wire, Wiring


def tensor_names(wiring: Wiring) -> dict[Wire, str]:
    """Ensemble tensor name of every wire that some step or output reads."""
    names: dict[Wire, str] = {("request", spec.name): spec.name for spec in wiring.inputs}
    for spec, wire in zip(wiring.outputs, wiring.output_wires):
        names[wire] = spec.name
    taken = set(names.values())
    for node in wiring.pipeline.nodes:
        for item in node.inputs:
            wire = _wire(wiring, item.source.node_name, item.source.data_item)
            if wire in names:
                continue
            candidate = f"{item.source.node_name}/{item.source.data_item}"
            while candidate in taken:  # only if a pipeline input/output is literally "a/b"
                candidate += "_"
            names[wire] = candidate
            taken.add(candidate)
    return names


def ensemble_config(wiring: Wiring) -> model_config_pb2.ModelConfig:
    pipeline = wiring.pipeline
    config = model_config_pb2.ModelConfig(name=pipeline.name, platform="ensemble", max_batch_size=0)
    for specs, target in ((wiring.inputs, config.input), (wiring.outputs, config.output)):
        for spec in specs:
            tensor = target.add(name=spec.name, data_type=pbtxt.data_type(spec.triton_type))
            if spec.shape:
                tensor.dims.extend(spec.shape)
            else:
                tensor.dims.append(1)
                tensor.reshape.SetInParent()
    names = tensor_names(wiring)
    for node in pipeline.nodes:
        step = config.ensemble_scheduling.step.add(
            model_name=node.model_name, model_version=node.version if node.version else -1
        )
        for item in node.inputs:
            step.input_map[item.input_name] = names[
                _wire(wiring, item.source.node_name, item.source.data_item)
            ]
        for out in node.outputs:
            wire = (node.name, out.data_item)
            if wire in names:  # only what is read: Triton refuses unused ensemble tensors
                step.output_map[out.data_item] = names[wire]
    return config


def _wire(wiring: Wiring, node_name: str, data_item: str) -> Wire:
    if node_name == "request":
        return ("request", data_item)
    node = next(n for n in wiring.pipeline.nodes if n.name == node_name)
    return (node_name, next(o.data_item for o in node.outputs if o.alias == data_item))
