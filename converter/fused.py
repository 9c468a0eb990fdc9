"""A checked pipeline (``Wiring``) -> a *pipeline model*: one openvino_py model running the DAG.

The alternative to ``ensembles.py`` (``ovtriton convert --pipelines fused`` or ``--fuse NAME``):
the whole OVMS pipeline runs inside one backend instance, so a request crosses Triton <-> stub
once, the branches share one OpenVINO process and thread budget, and intermediates stay in
place. The model's config.pbtxt declares the same inputs and outputs as the ensemble would;
``1/pipeline.json`` describes the DAG in the backend's format (``backend/pipeline_spec.py``)
and carries the configs of the node models, which stay served as models of their own (the
pipeline model reads their files from their folders). Pass-through outputs need no identity
models here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePosixPath

from google.protobuf import json_format
from tritonclient.grpc import model_config_pb2

from ovtriton.backend import BACKEND_NAME
from ovtriton.backend.pipeline_load import PIPELINE_PARAMETER
from ovtriton.backend.pipeline_spec import FORMAT

from . import pbtxt
from .ovms import Node
from .repository import PlannedFile, PlannedModel
from .validate import Wiring

PIPELINE_FILE = "pipeline.json"
KIND = "pipeline"


def fused_model(wiring: Wiring, digests: Mapping[str, str]) -> PlannedModel:
    """The pipeline model of ``wiring``; ``digests`` (model name -> digest) make it reload
    whenever one of its node models changes."""
    pipeline = wiring.pipeline
    config = model_config_pb2.ModelConfig(
        name=pipeline.name, backend=BACKEND_NAME, max_batch_size=0
    )
    for specs, target in ((wiring.inputs, config.input), (wiring.outputs, config.output)):
        pbtxt.add_tensors(target, specs, batched=False)
    config.instance_group.add(kind=model_config_pb2.ModelInstanceGroup.KIND_CPU, count=1)
    config.parameters[PIPELINE_PARAMETER].string_value = PIPELINE_FILE
    data = json.dumps(describe(wiring, digests), indent=1, sort_keys=True).encode()
    files = (PlannedFile(PurePosixPath("1", PIPELINE_FILE), data=data),)
    return PlannedModel(pipeline.name, KIND, pbtxt.to_text(config), (1,), files)


def describe(wiring: Wiring, digests: Mapping[str, str]) -> dict:
    """The DAG file's content."""
    pipeline = wiring.pipeline
    nodes = []
    models = {}
    for node in _in_order(pipeline.nodes):
        model = wiring.models[node.name]
        nodes.append(
            {
                "name": node.name,
                "kind": "model",
                "model": model.entry.name,
                # OVMS runs the highest version when a node names none
                "version": node.version or max(model.versions),
                "inputs": {
                    item.input_name: [item.source.node_name, item.source.data_item]
                    for item in node.inputs
                },
                "outputs": {out.alias: out.data_item for out in node.outputs},
            }
        )
        models[model.entry.name] = json_format.MessageToDict(
            model.config, preserving_proto_field_name=True
        )
    return {
        "format": FORMAT,
        "inputs": [spec.name for spec in wiring.inputs],
        "nodes": nodes,
        "outputs": {
            out.name: [out.source.node_name, out.source.data_item] for out in pipeline.outputs
        },
        "models": models,
        "digests": {name: digests.get(name, "") for name in sorted(models)},
    }


def _in_order(nodes: tuple[Node, ...]) -> list[Node]:
    """The nodes with every node after the nodes it reads (the config may list them anyhow)."""
    by_name = {node.name: node for node in nodes}
    ordered: list[Node] = []
    placed: set[str] = set()

    def place(node: Node) -> None:
        if node.name in placed:
            return
        placed.add(node.name)
        for item in node.inputs:
            if item.source.node_name in by_name:
                place(by_name[item.source.node_name])
        ordered.append(node)

    for node in nodes:
        place(node)
    return ordered
