"""The generated identity models that let an ensemble copy a tensor to another output.

Triton ensembles cannot route an input straight to an output, and an ``output_map`` writes each
model output to one tensor. OVMS allows both (``response`` reading ``request``; one alias under
two output names), so the converter adds a step running a tiny OpenVINO model, ``y = x``
(Parameter -> Convert to the same type -> Result), served by ``openvino_py`` like any other.
There is one such model per data type and rank, shared by all ensembles, with every dimension
dynamic so it fits any shape of that rank.

Its name starts with ``IDENTITY_PREFIX``, which ``names.py`` reserves: no user model or pipeline
may take it.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path, PurePosixPath

import openvino as ov
from openvino import opset13 as ops
from ovtriton.backend import BACKEND_NAME
from ovtriton.backend.dtypes import ov_from_triton, short_name
from ovtriton.backend.tensors import describe
from tritonclient.grpc import model_config_pb2

from . import pbtxt
from .repository import PlannedFile, PlannedModel

IDENTITY_PREFIX = "_ovtriton_"
INPUT, OUTPUT = "x", "y"


def identity_name(datatype: str, rank: int) -> str:
    """``("TYPE_FP32", 2)`` -> ``_ovtriton_identity_fp32_2d``."""
    return f"{IDENTITY_PREFIX}identity_{short_name(datatype).lower()}_{rank}d"


def identity_ir(datatype: str, rank: int) -> ov.Model:
    """``y = Convert(x, same type)``: a real op, so OpenVINO keeps a distinct output tensor
    (strings, which the CPU cannot Convert: ``Reshape(x, ShapeOf(x))``)."""
    element = ov_from_triton(datatype)
    shape = ov.PartialShape([ov.Dimension()] * rank)
    param = ops.parameter(shape, element, name=INPUT)
    param.output(0).get_tensor().set_names({INPUT})
    if element == ov.Type.string:
        copy = ops.reshape(param, ops.shape_of(param), False, name=OUTPUT)
    else:
        copy = ops.convert(param, element, name=OUTPUT)
    copy.output(0).get_tensor().set_names({OUTPUT})
    result = ops.result(copy, name="result")  # a fixed name keeps the IR bytes reproducible
    return ov.Model([result], [param], identity_name(datatype, rank))


@functools.cache
def identity_model(datatype: str, rank: int) -> PlannedModel:
    """The repository folder of one identity model: config.pbtxt and version 1 (IR bytes)."""
    model = identity_ir(datatype, rank)
    with tempfile.TemporaryDirectory(prefix="ovtriton-identity-") as tmp:
        xml = Path(tmp) / "model.xml"
        ov.save_model(model, str(xml), compress_to_fp16=False)
        files = (
            PlannedFile(PurePosixPath("1", "model.xml"), data=xml.read_bytes()),
            PlannedFile(PurePosixPath("1", "model.bin"), data=xml.with_suffix(".bin").read_bytes()),
        )
    name = identity_name(datatype, rank)
    config = model_config_pb2.ModelConfig(name=name, backend=BACKEND_NAME, max_batch_size=0)
    pbtxt.add_tensors(config.input, describe(model.inputs), batched=False)
    pbtxt.add_tensors(config.output, describe(model.outputs), batched=False)
    config.instance_group.add(kind=model_config_pb2.ModelInstanceGroup.KIND_CPU, count=1)
    return PlannedModel(name, "model", pbtxt.to_text(config), (1,), files)
