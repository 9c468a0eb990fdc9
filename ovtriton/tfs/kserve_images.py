"""KServe ``BYTES`` images on OVMS's gRPC port: decoded by the front before Triton checks types.

Triton refuses a ``BYTES`` tensor for an ``FP32`` input before any backend runs, so on Triton's
own port a binary image cannot reach the model. Through the front's KServe pass-through, a
``ModelInfer`` whose ``BYTES`` input targets a 4-D non-``BYTES`` model input is rewritten with
the decoded images (OVMS's rules, :mod:`ovtriton.tfs.images`); every other request is passed on
as the bytes it came as.
"""

from __future__ import annotations

from typing import Any

import grpc
import numpy as np
from tritonclient.grpc import service_pb2

from ovtriton.tfs.errors import TfsError, from_triton
from ovtriton.tfs.images import decode, wants_images
from ovtriton.tfs.tensors import BY_KSERVE, deserialize_bytes
from ovtriton.tfs.triton import TritonLink

# InferTensorContents field for each datatype (FP16/BF16 have none: raw only).
_CONTENTS = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
}


def may_carry_bytes(request: bytes) -> bool:
    """A cheap pre-check: a request with a BYTES tensor names the datatype somewhere."""
    return b"BYTES" in request


async def decode_images(request: bytes, triton: TritonLink) -> bytes:
    """``request`` (a serialized ModelInferRequest) with its image inputs decoded."""
    message = service_pb2.ModelInferRequest.FromString(request)
    byte_inputs = [i for i, t in enumerate(message.inputs) if t.datatype == "BYTES"]
    if not byte_inputs:
        return request
    version = int(message.model_version) if message.model_version.isdigit() else None
    try:
        meta = await triton.metadata(message.model_name, version)
    except grpc.RpcError as error:
        raise from_triton(error, message.model_name) from None
    targets = {t.name: (t.datatype, [int(s) for s in t.shape]) for t in meta.inputs}
    changed = False
    for index in byte_inputs:
        tensor = message.inputs[index]
        target = targets.get(tensor.name)
        if target is None or not wants_images(*target):
            continue
        if message.raw_input_contents:
            blobs = deserialize_bytes(message.raw_input_contents[index])
        else:
            blobs = list(tensor.contents.bytes_contents)
        shape, raw = decode(tensor.name, blobs, *target)
        _replace(message, index, target[0], shape, raw)
        changed = True
    return bytes(message.SerializeToString()) if changed else request


def _replace(message: Any, index: int, datatype: str, shape: list[int], raw: bytes) -> None:
    tensor = message.inputs[index]
    tensor.datatype = datatype
    del tensor.shape[:]
    tensor.shape.extend(shape)
    if message.raw_input_contents:
        message.raw_input_contents[index] = raw
        return
    if datatype not in _CONTENTS:
        raise TfsError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"input {tensor.name!r} is {datatype}, which has no typed contents field: send "
            "the images in raw_input_contents (tritonclient does)",
        )
    tensor.ClearField("contents")
    values = np.frombuffer(raw, dtype=BY_KSERVE[datatype].numpy)
    getattr(tensor.contents, _CONTENTS[datatype]).extend(values.tolist())
