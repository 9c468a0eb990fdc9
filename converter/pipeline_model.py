"""A checked pipeline -> a *pipeline model*: one openvino_py model running the whole DAG.

The other rendering of a ``CheckedPipeline`` besides the Triton ensemble (``ensembles.py``);
chosen with ``ovtriton convert --pipelines model`` or ``--pipeline-model NAME``, and always for
a pipeline with custom nodes or demultiplexing (Triton's ensembles run neither). The whole
OVMS pipeline runs inside one backend instance, so a request crosses Triton <-> stub once, the
branches share one OpenVINO process and thread budget, and intermediates stay in place. The
model's config.pbtxt declares the pipeline's inputs and outputs as a client sees them;
``1/pipeline.json`` describes the DAG in the backend's format (``backend/pipeline_spec.py``)
and carries the configs of the node models, which stay served as models of their own (the
pipeline model reads their files from their folders). Custom node libraries are linked or
copied into ``1/custom_nodes/`` like model files. Pass-through outputs need no identity models.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from google.protobuf import json_format
from tritonclient.grpc import model_config_pb2

from ovtriton.backend import BACKEND_NAME
from ovtriton.backend.pipeline_load import PIPELINE_PARAMETER
from ovtriton.backend.pipeline_schedule import SCHEDULE_PARAMETER
from ovtriton.backend.schedule import EVEN, MEASURED
from ovtriton.backend.pipeline_spec import FORMAT
from ovtriton.backend.tensors import TensorSpec

from . import pbtxt
from .pipeline_check import CheckedPipeline, in_order
from .repository import PlannedFile, PlannedModel

LOGGER = logging.getLogger(__name__)

PIPELINE_FILE = "pipeline.json"
LIBRARY_DIR = "custom_nodes"
KIND = "pipeline"


def pipeline_model(
    checked: CheckedPipeline, digests: Mapping[str, str], schedule: str = MEASURED
) -> PlannedModel:
    """The pipeline model of ``checked``; ``digests`` (model name -> digest) make it reload
    whenever one of its node models changes. ``schedule`` ``even`` is written as its parameter
    SCHEDULE (``measured``, the backend's default, is not written)."""
    files: dict[str, PlannedFile] = {}
    document = describe(checked, digests, files)
    data = json.dumps(document, indent=1, sort_keys=True).encode()
    planned = (PlannedFile(PurePosixPath("1", PIPELINE_FILE), data=data), *files.values())
    config = pipeline_config(checked.pipeline.name, checked.inputs, checked.outputs, schedule)
    return PlannedModel(checked.pipeline.name, KIND, config, (1,), planned)


def pipeline_config(
    name: str,
    inputs: Iterable[TensorSpec],
    outputs: Iterable[TensorSpec],
    schedule: str = MEASURED,
) -> str:
    """A pipeline model's config.pbtxt: one CPU instance of the backend, parameter PIPELINE
    (and SCHEDULE unless measured)."""
    config = model_config_pb2.ModelConfig(name=name, backend=BACKEND_NAME, max_batch_size=0)
    for specs, target in ((inputs, config.input), (outputs, config.output)):
        pbtxt.add_tensors(target, specs, batched=False)
    config.instance_group.add(kind=model_config_pb2.ModelInstanceGroup.KIND_CPU, count=1)
    config.parameters[PIPELINE_PARAMETER].string_value = PIPELINE_FILE
    if schedule == EVEN:  # else measured when it loads
        config.parameters[SCHEDULE_PARAMETER].string_value = schedule
    return pbtxt.to_text(config)


def describe(
    checked: CheckedPipeline, digests: Mapping[str, str], files: dict[str, PlannedFile]
) -> dict:
    """The DAG file's content; the libraries it names are added to ``files``."""
    pipeline = checked.pipeline
    nodes: list[dict] = []
    models: dict[str, dict] = {}
    for node in in_order(pipeline.nodes):
        io = checked.nodes[node.name]
        entry: dict = {
            "name": node.name,
            "inputs": {
                item.input_name: [item.source.node_name, item.source.data_item]
                for item in node.inputs
            },
            "outputs": {out.alias: out.data_item for out in node.outputs},
        }
        if io.library is not None:
            key = str(io.library)
            if key not in files:
                relpath = PurePosixPath(LIBRARY_DIR, str(len(files)), io.library.name)
                files[key] = PlannedFile(PurePosixPath("1", relpath), source=io.library)
            library = files[key].relpath.relative_to("1")
            entry.update(kind="custom", library=str(library), params=dict(node.params))
        elif io.model is not None:
            model = io.model
            # OVMS runs the highest version when a node names none
            entry.update(
                kind="model", model=model.entry.name, version=node.version or max(model.versions)
            )
            models[model.entry.name] = json_format.MessageToDict(
                model.config, preserving_proto_field_name=True
            )
        if node.demultiply_count is not None:
            entry["demultiply_count"] = node.demultiply_count
        if node.gather_from_node is not None:
            entry["gather_from_node"] = node.gather_from_node
        nodes.append(entry)
    document = {
        "format": FORMAT,
        "inputs": [spec.name for spec in checked.inputs],  # what config.pbtxt declares
        "nodes": nodes,
        "outputs": {
            out.name: [out.source.node_name, out.source.data_item] for out in pipeline.outputs
        },
        "models": models,
        "digests": {name: digests.get(name, "") for name in sorted(models)},
    }
    if pipeline.demultiply_count is not None:
        document["demultiply_count"] = pipeline.demultiply_count
    return document
