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
from ovtriton.backend.dtypes import short_name
from ovtriton.backend.prepare import describe
from tritonclient.grpc import model_config_pb2

from . import pbtxt
from .models import BACKEND
from .repository import PlannedFile, PlannedModel

IDENTITY_PREFIX = "_ovtriton_"
INPUT, OUTPUT = "x", "y"
_ELEMENT = {  # Triton type -> OpenVINO element type (the backend's table, keyed the other way)
    "TYPE_BOOL": ov.Type.boolean,
    "TYPE_UINT8": ov.Type.u8,
    "TYPE_UINT16": ov.Type.u16,
    "TYPE_UINT32": ov.Type.u32,
    "TYPE_UINT64": ov.Type.u64,
    "TYPE_INT8": ov.Type.i8,
    "TYPE_INT16": ov.Type.i16,
    "TYPE_INT32": ov.Type.i32,
    "TYPE_INT64": ov.Type.i64,
    "TYPE_FP16": ov.Type.f16,
    "TYPE_FP32": ov.Type.f32,
    "TYPE_FP64": ov.Type.f64,
}


def identity_name(triton_type: str, rank: int) -> str:
    """``("TYPE_FP32", 2)`` -> ``_ovtriton_identity_fp32_2d``."""
    return f"{IDENTITY_PREFIX}identity_{short_name(triton_type).lower()}_{rank}d"


def identity_ir(triton_type: str, rank: int) -> ov.Model:
    """``y = Convert(x, same type)``: a real op, so OpenVINO keeps a distinct output tensor."""
    element = _ELEMENT[triton_type]
    shape = ov.PartialShape([ov.Dimension()] * rank)
    param = ops.parameter(shape, element, name=INPUT)
    param.output(0).get_tensor().set_names({INPUT})
    copy = ops.convert(param, element, name=OUTPUT)
    copy.output(0).get_tensor().set_names({OUTPUT})
    result = ops.result(copy, name="result")  # a fixed name keeps the IR bytes reproducible
    return ov.Model([result], [param], identity_name(triton_type, rank))


@functools.cache
def identity_model(triton_type: str, rank: int) -> PlannedModel:
    """The repository folder of one identity model: config.pbtxt and version 1 (IR bytes)."""
    model = identity_ir(triton_type, rank)
    with tempfile.TemporaryDirectory(prefix="ovtriton-identity-") as tmp:
        xml = Path(tmp) / "model.xml"
        ov.save_model(model, str(xml), compress_to_fp16=False)
        files = (
            PlannedFile(PurePosixPath("1", "model.xml"), data=xml.read_bytes()),
            PlannedFile(PurePosixPath("1", "model.bin"), data=xml.with_suffix(".bin").read_bytes()),
        )
    name = identity_name(triton_type, rank)
    config = model_config_pb2.ModelConfig(name=name, backend=BACKEND, max_batch_size=0)
    ports = ((describe(model.inputs), config.input), (describe(model.outputs), config.output))
    for specs, target in ports:
        for spec in specs:
            tensor = target.add(name=spec.name, data_type=pbtxt.data_type(spec.triton_type))
            if spec.shape:
                tensor.dims.extend(spec.shape)
            else:  # a scalar: Triton needs rank >= 1, reshape [] gives the model its scalar
                tensor.dims.append(1)
                tensor.reshape.SetInParent()
    config.instance_group.add(kind=model_config_pb2.ModelInstanceGroup.KIND_CPU, count=1)
    return PlannedModel(name, "model", pbtxt.to_text(config), (1,), files)
