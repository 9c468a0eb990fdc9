"""Triton's floor: zero-compute models with the very tensors of the pipeline under test.

Written into the converted repository next to the real models, served by the same server:

- ``<pipeline>__floor``: one Python-backend model with the pipeline's inputs and outputs that
  answers zeros (the cost of Triton, its transport and one stub crossing, with no model);
- ``<pipeline>__floor_ensemble``: the pipeline's ensemble with every step replaced by a
  zero-compute Python model with that step model's inputs and outputs (``<model>__zero``), so
  the ensemble scheduler and every crossing are there, and no OpenVINO;
- ``<pipeline>__floor_openvino``: the same tensors served by ``openvino_py``, its OpenVINO model
  only broadcasting zeros to the outputs' shapes (the backend's own fixed cost, issue 12: it
  should be within 0.3 ms of ``<pipeline>__floor``).

What a served mode takes beyond its floor (same transport) is ovtriton's or OpenVINO's.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
from google.protobuf import json_format, text_format
from openvino import opset13 as ops
from tritonclient.grpc import model_config_pb2
from tritonclient.utils import triton_to_np_dtype

from ovtriton.backend import BACKEND_NAME

FLOOR = "__floor"
FLOOR_ENSEMBLE = "__floor_ensemble"
FLOOR_OPENVINO = "__floor_openvino"
ZERO = "__zero"

ZERO_MODEL = '''\
"""Zero compute: reads only the batch size, answers zeros of the declared outputs."""

import json

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.batched = int(config.get("max_batch_size", 0)) > 0
        self.first = config["input"][0]["name"]
        self.outputs = [
            (
                o["name"],
                pb_utils.triton_string_to_numpy(o["data_type"]),
                [1 if int(d) < 0 else int(d) for d in o["dims"]],
                bool(o["dims"]) and int(o["dims"][0]) in (-1, 1),
            )
            for o in config["output"]
        ]

    def execute(self, requests):
        responses = []
        for request in requests:
            batch = pb_utils.get_input_tensor_by_name(request, self.first).as_numpy().shape[0]
            tensors = []
            for name, dtype, dims, leading in self.outputs:
                if self.batched:
                    shape = [batch, *dims]
                else:
                    shape = [batch, *dims[1:]] if leading else dims
                tensors.append(pb_utils.Tensor(name, np.zeros(shape, dtype)))
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses
'''


def _zero_config(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``config`` (a model's or an ensemble's) as a Python-backend model with the same tensors."""
    zero = {
        key: copy.deepcopy(value)
        for key, value in config.items()
        if key in ("input", "output", "max_batch_size", "dynamic_batching", "instance_group")
    }
    zero["name"] = name
    zero["backend"] = "python"
    return zero


def _write(repository: Path, config: Mapping[str, Any], python: bool) -> None:
    folder = repository / str(config["name"])
    (folder / "1").mkdir(parents=True, exist_ok=True)
    message = json_format.ParseDict(config, model_config_pb2.ModelConfig())
    text = text_format.MessageToString(message)
    if int(config.get("max_batch_size", 0)) == 0:
        text += "max_batch_size: 0\n"
    (folder / "config.pbtxt").write_text(text)
    if python:
        (folder / "1" / "model.py").write_text(ZERO_MODEL)


def zero_openvino_model(config: Mapping[str, Any]) -> ov.Model:
    """An OpenVINO model with ``config``'s inputs whose outputs are zeros of the declared dims;
    the batch (first input's first dimension) follows the request."""
    batched = int(config.get("max_batch_size", 0)) > 0
    parameters = []
    for tensor in config["input"]:
        dims = [-1 if int(d) < 0 else int(d) for d in tensor["dims"]]
        dtype = np.dtype(triton_to_np_dtype(tensor["data_type"].removeprefix("TYPE_")))
        parameters.append(
            ops.parameter([-1, *dims] if batched else dims, dtype, name=tensor["name"])
        )
    batch = ops.gather(ops.shape_of(parameters[0]), np.array([0], np.int64), np.int64(0))
    results = []
    for tensor in config["output"]:
        dims = [1 if int(d) < 0 else int(d) for d in tensor["dims"]]
        dtype = np.dtype(triton_to_np_dtype(tensor["data_type"].removeprefix("TYPE_")))
        leading = bool(tensor["dims"]) and int(tensor["dims"][0]) in (-1, 1)
        rest = dims if batched else dims[1:]
        if batched or leading:
            shape = ops.concat([batch, ops.constant(np.array(rest, np.int64))], 0)
        else:
            shape = ops.constant(np.array(dims, np.int64))
        zeros = ops.broadcast(ops.constant(np.zeros((), dtype)), shape)
        zeros.output(0).get_tensor().set_names({tensor["name"]})
        results.append(zeros)
    return ov.Model(results, parameters, "zero")


def write_floor(
    repository: Path, configs: Mapping[str, Mapping[str, Any]], pipeline: str
) -> tuple[str, str, str]:
    """Add the floor models of ``pipeline`` (an ensemble in ``configs``) to ``repository``.

    Returns the names of the zero-compute Python model, ensemble and openvino_py model."""
    ensemble = configs[pipeline]
    _write(repository, _zero_config(ensemble, pipeline + FLOOR), python=True)
    openvino = {**_zero_config(ensemble, pipeline + FLOOR_OPENVINO), "backend": BACKEND_NAME}
    _write(repository, openvino, python=False)
    model_xml = repository / (pipeline + FLOOR_OPENVINO) / "1" / "model.xml"
    ov.save_model(zero_openvino_model(ensemble), str(model_xml))
    shadow = copy.deepcopy(dict(ensemble))
    shadow["name"] = pipeline + FLOOR_ENSEMBLE
    for step in shadow["ensemble_scheduling"]["step"]:
        model = step["model_name"]
        step["model_name"] = model + ZERO
        step["model_version"] = "-1"  # the latest (proto3 would read an absent one as 0)
        if not (repository / (model + ZERO)).exists():
            _write(repository, _zero_config(configs[model], model + ZERO), python=True)
    _write(repository, shadow, python=False)
    return pipeline + FLOOR, pipeline + FLOOR_ENSEMBLE, pipeline + FLOOR_OPENVINO
