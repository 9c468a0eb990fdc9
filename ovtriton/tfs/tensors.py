"""TensorProto ↔ Triton tensors (KServe datatype, shape, raw bytes) ↔ NumPy, every encoding.

Requests may carry their data in ``tensor_content`` (raw little-endian, what OVMS's and TF's
clients send for arrays) or in the typed ``*_val`` fields (ovmsclient uses them for scalars;
``half_val`` holds FP16 bit patterns in int32s; a single value fills the whole shape, as in
TensorFlow). Responses use ``tensor_content`` for numbers and ``string_val`` for strings, as
OVMS does.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any, Optional

import grpc
import numpy as np

from ovtriton.tfs import protos
from ovtriton.tfs.errors import TfsError


@dataclass(frozen=True)
class DType:
    """One TensorFlow DataType with its KServe datatype, NumPy type and typed value field."""

    tf: str
    kserve: str
    numpy: Any
    field: str


_DTYPES = [
    DType("DT_FLOAT", "FP32", np.float32, "float_val"),
    DType("DT_DOUBLE", "FP64", np.float64, "double_val"),
    DType("DT_HALF", "FP16", np.float16, "half_val"),
    DType("DT_INT8", "INT8", np.int8, "int_val"),
    DType("DT_INT16", "INT16", np.int16, "int_val"),
    DType("DT_INT32", "INT32", np.int32, "int_val"),
    DType("DT_INT64", "INT64", np.int64, "int64_val"),
    DType("DT_UINT8", "UINT8", np.uint8, "int_val"),
    DType("DT_UINT16", "UINT16", np.uint16, "int_val"),
    DType("DT_UINT32", "UINT32", np.uint32, "uint32_val"),
    DType("DT_UINT64", "UINT64", np.uint64, "uint64_val"),
    DType("DT_BOOL", "BOOL", np.bool_, "bool_val"),
    DType("DT_STRING", "BYTES", np.object_, "string_val"),
]
DATA_TYPE = protos.POOL.FindEnumTypeByName("tensorflow.DataType")
BY_TF = {DATA_TYPE.values_by_name[d.tf].number: d for d in _DTYPES}
BY_KSERVE = {d.kserve: d for d in _DTYPES}
BY_NUMPY = {np.dtype(d.numpy): d for d in _DTYPES}


def tf_number(kserve: str) -> int:
    """The DataType number of a KServe datatype (DT_INVALID for one TFS has no name for)."""
    dtype = BY_KSERVE.get(kserve)
    return DATA_TYPE.values_by_name[dtype.tf].number if dtype else 0


def shape_of(tensor: Any, name: str = "") -> list[int]:
    """The tensor's shape; a negative dimension (``-1``) is INVALID_ARGUMENT: a request's
    shape is concrete."""
    shape = [d.size for d in tensor.tensor_shape.dim]
    if any(size < 0 for size in shape):
        raise TfsError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"input {name!r}: shape {shape} has a negative dimension; send the tensor's "
            "actual shape",
        )
    return shape


def declared_bytes(name: str, tensor: Any) -> int:
    """Bytes the tensor takes once decoded (its shape × element size; strings: Triton's
    4-byte length prefix plus their bytes), computed before anything is allocated, so a
    single ``float_val`` or ``string_val`` filling a huge shape is weighed by what it fills."""
    dtype = _dtype_of(name, tensor)
    shape = shape_of(tensor, name)
    count = math.prod(shape)
    if dtype.kserve != "BYTES":
        return count * np.dtype(dtype.numpy).itemsize
    values = tensor.string_val
    if len(values) == 1:
        return count * (4 + len(values[0]))
    return sum(4 + len(value) for value in values)


def check_size(inputs: dict[str, Any], limit: int) -> int:
    """The request's declared bytes; INVALID_ARGUMENT above ``limit`` (0: no limit)."""
    sizes = {name: declared_bytes(name, tensor) for name, tensor in inputs.items()}
    total = sum(sizes.values())
    if limit and total > limit:
        largest = max(sizes, key=lambda n: sizes[n])
        raise TfsError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"request inputs total {total} bytes once decoded (largest: input {largest!r}, "
            f"{sizes[largest]} bytes), above this model's limit MAX_INPUT_BYTES={limit} (or "
            "the front's default); send smaller requests",
        )
    return total


def _dtype_of(name: str, tensor: Any) -> DType:
    dtype = BY_TF.get(tensor.dtype)
    if dtype is None:
        known = DATA_TYPE.values_by_number.get(tensor.dtype)
        raise TfsError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"input {name!r}: data type {known.name if known else tensor.dtype} is not "
            f"supported; send one of {', '.join(d.tf for d in _DTYPES)}",
        )
    return dtype


def to_triton(name: str, tensor: Any) -> tuple[str, list[int], bytes]:
    """The KServe datatype, shape and Triton raw content of one request TensorProto."""
    dtype = _dtype_of(name, tensor)
    shape = shape_of(tensor, name)
    content = tensor.tensor_content  # a copy each time it is read: read it once
    if content and dtype.kserve != "BYTES":
        return dtype.kserve, shape, content
    array = to_numpy(tensor, name)
    if dtype.kserve == "BYTES":
        return dtype.kserve, shape, serialize_bytes(array.ravel())
    return dtype.kserve, shape, array.tobytes()


def to_numpy(tensor: Any, name: str = "") -> np.ndarray:
    """Decode one TensorProto, whichever encoding it uses."""
    dtype = _dtype_of(name, tensor)
    shape = shape_of(tensor, name)
    count = math.prod(shape)
    if dtype.kserve == "BYTES":
        values = np.array(list(tensor.string_val), dtype=np.object_)
    elif content := tensor.tensor_content:  # a copy each time it is read: read it once
        values = np.frombuffer(content, dtype=np.dtype(dtype.numpy).newbyteorder("<"))
    elif dtype.kserve == "FP16":
        values = np.array(tensor.half_val, dtype=np.uint16).view(np.float16)
    else:
        values = np.array(getattr(tensor, dtype.field), dtype=dtype.numpy)
    if values.size == count:
        return values.reshape(shape)
    if values.size == 1 and count > 1:
        return np.full(shape, values[0], dtype=values.dtype)
    raise TfsError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"input {name!r}: shape {shape} holds {count} values but the tensor carries "
        f"{values.size}; send as many values as the shape holds",
    )


def from_numpy(array: Any, typed: bool = False) -> Any:
    """A TensorProto of ``array``: ``tensor_content`` (the default) or the typed ``*_val`` field."""
    array = np.asarray(array)
    if array.dtype.kind in "USO":
        array = np.vectorize(_as_bytes, otypes=[np.object_])(array) if array.size else array
        dtype = BY_KSERVE["BYTES"]
    elif array.dtype in BY_NUMPY:
        dtype = BY_NUMPY[array.dtype]
    else:
        raise TypeError(f"NumPy type {array.dtype} has no TensorFlow DataType here")
    tensor = protos.TensorProto(dtype=DATA_TYPE.values_by_name[dtype.tf].number)
    tensor.tensor_shape.dim.extend(protos.TensorShapeProto.Dim(size=s) for s in array.shape)
    flat = array.ravel()
    if dtype.kserve == "BYTES":
        tensor.string_val.extend(flat.tolist())
    elif not typed:
        little = np.dtype(dtype.numpy).newbyteorder("<")
        tensor.tensor_content = flat.astype(little, copy=False).tobytes()
    elif dtype.kserve == "FP16":
        tensor.half_val.extend(flat.view(np.uint16).tolist())
    else:
        getattr(tensor, dtype.field).extend(flat.tolist())
    return tensor


def from_triton(datatype: str, shape: list[int], raw: bytes) -> Any:
    """A response TensorProto from one Triton output."""
    dtype = BY_KSERVE.get(datatype)
    tensor = protos.TensorProto(dtype=tf_number(datatype))
    tensor.tensor_shape.dim.extend(protos.TensorShapeProto.Dim(size=s) for s in shape)
    if dtype is not None and dtype.kserve == "BYTES":
        tensor.string_val.extend(deserialize_bytes(raw))
    else:
        tensor.tensor_content = raw
    return tensor


def serialize_bytes(values: Any) -> bytes:
    """Triton's raw BYTES layout: each element as a 4-byte little-endian length, then the bytes."""
    parts = []
    for value in values:
        data = _as_bytes(value)
        parts.append(struct.pack("<I", len(data)))
        parts.append(data)
    return b"".join(parts)


def deserialize_bytes(raw: bytes) -> list[bytes]:
    values, offset = [], 0
    while offset < len(raw):
        (length,) = struct.unpack_from("<I", raw, offset)
        values.append(raw[offset + 4 : offset + 4 + length])
        offset += 4 + length
    return values


def _as_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def optional_version(spec: Any) -> Optional[int]:
    """The version a ModelSpec asks for; None when unset or 0 (OVMS: the highest loaded one)."""
    if spec.HasField("version") and spec.version.value > 0:
        return int(spec.version.value)
    return None
