"""KServe ``BYTES`` images on OVMS's gRPC port: decoded by the front before Triton checks types.

Triton refuses a ``BYTES`` tensor for an ``FP32`` input before any backend runs, so on Triton's
own port a binary image cannot reach the model. Through the front's KServe pass-through, a
``ModelInfer`` whose ``BYTES`` input targets a 4-D non-``BYTES`` model input is rewritten with
the decoded images (OVMS's rules, :mod:`ovtriton.tfs.images`); every other request is passed on
as the bytes it came as.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import grpc
import numpy as np
from tritonclient.grpc import service_pb2

from ovtriton.tfs.errors import TfsError
from ovtriton.tfs.tensors import BY_KSERVE, deserialize_bytes

if TYPE_CHECKING:
    from ovtriton.tfs.service import TfsService

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


async def decode_images(request: bytes, service: "TfsService") -> bytes:
    """``request`` (a serialized ModelInferRequest) with its image inputs decoded."""
    message = service_pb2.ModelInferRequest.FromString(request)
    byte_inputs = [i for i, t in enumerate(message.inputs) if t.datatype == "BYTES"]
    if not byte_inputs:
        return request
    version = int(message.model_version) if message.model_version.isdigit() else None
    info = await service.models.get(message.model_name, version)
    changed = False
    for index in byte_inputs:
        tensor = message.inputs[index]
        target = info.image_input(tensor.name)
        if target is None:
            continue
        if message.raw_input_contents:
            blobs = split_bytes(message.raw_input_contents[index])
            if blobs is None:
                raise TfsError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"Image parsing failed: raw_input_contents of input {tensor.name!r} is not "
                    "Triton's BYTES layout (each image: 4-byte little-endian length, then bytes)",
                )
        else:
            blobs = list(tensor.contents.bytes_contents)
        shape, raw = await service.images.decode(target, blobs)
        _replace(message, index, target.datatype, shape, raw)
        changed = True
    return bytes(message.SerializeToString()) if changed else request


def split_bytes(raw: bytes) -> Optional[list[bytes]]:
    """Triton's BYTES layout (4-byte little-endian length, then the bytes) split; None if ``raw``
    is not in it (a length running past the end)."""
    offset = 0
    while offset + 4 <= len(raw):
        offset += 4 + int.from_bytes(raw[offset : offset + 4], "little")
    return deserialize_bytes(raw) if offset == len(raw) else None


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
