"""One table for the data types Triton, NumPy and OpenVINO share (Triton spells them ``TYPE_FP32``).

Strings: Triton's ``TYPE_STRING`` (``BYTES`` on the wire) reaches the Python backend as a NumPy
object array of ``bytes``; OpenVINO's ``string`` tensors take and give NumPy ``bytes_`` arrays.
``to_openvino``/``from_openvino`` convert between the two (NumPy's ``bytes_`` drops trailing NUL
bytes of an element: text is carried exactly, binary blobs ending in ``\x00`` are not).
"""

from __future__ import annotations

import numpy as np
import openvino as ov

# Triton config spelling -> (numpy dtype, OpenVINO element type).
_TABLE: dict[str, tuple[type, ov.Type]] = {
    "TYPE_BOOL": (np.bool_, ov.Type.boolean),
    "TYPE_UINT8": (np.uint8, ov.Type.u8),
    "TYPE_UINT16": (np.uint16, ov.Type.u16),
    "TYPE_UINT32": (np.uint32, ov.Type.u32),
    "TYPE_UINT64": (np.uint64, ov.Type.u64),
    "TYPE_INT8": (np.int8, ov.Type.i8),
    "TYPE_INT16": (np.int16, ov.Type.i16),
    "TYPE_INT32": (np.int32, ov.Type.i32),
    "TYPE_INT64": (np.int64, ov.Type.i64),
    "TYPE_FP16": (np.float16, ov.Type.f16),
    "TYPE_FP32": (np.float32, ov.Type.f32),
    "TYPE_FP64": (np.float64, ov.Type.f64),
    "TYPE_STRING": (np.object_, ov.Type.string),
}
_BY_OV = {ov_type.get_type_name(): name for name, (_, ov_type) in _TABLE.items()}
_BY_NUMPY: dict[np.dtype, str] = {np.dtype(np_type): name for name, (np_type, _) in _TABLE.items()}

SUPPORTED = tuple(_TABLE)


def triton_from_ov(element_type: ov.Type) -> str:
    """``ov.Type.f32`` -> ``"TYPE_FP32"``; raises ``KeyError`` for types Triton cannot carry."""
    return _BY_OV[element_type.get_type_name()]


def ov_from_triton(datatype: str) -> ov.Type:
    """``"TYPE_FP32"`` -> ``ov.Type.f32``."""
    return _TABLE[datatype][1]


def numpy_from_triton(datatype: str) -> np.dtype:
    return np.dtype(_TABLE[datatype][0])


def triton_from_numpy(dtype: np.dtype) -> str:
    """``np.float32`` -> ``"TYPE_FP32"``; raises ``KeyError`` for dtypes Triton cannot carry."""
    return _BY_NUMPY[np.dtype(dtype)]


def short_name(datatype: str) -> str:
    """``"TYPE_FP32"`` -> ``"FP32"``: the spelling Triton's wire protocol and its errors use
    (``TYPE_STRING`` is ``BYTES`` there)."""
    if datatype == "TYPE_STRING":
        return "BYTES"
    return datatype[len("TYPE_") :] if datatype.startswith("TYPE_") else datatype


def to_openvino(array: np.ndarray) -> np.ndarray:
    """A request tensor as OpenVINO takes it: strings (an object array of bytes) as ``bytes_``."""
    if array.dtype != np.object_:
        return array
    return np.array(
        [item if isinstance(item, bytes) else str(item).encode() for item in array.flat],
        dtype=np.bytes_,
    ).reshape(array.shape)


def from_openvino(tensor: ov.Tensor) -> np.ndarray:
    """An output tensor as a NumPy array the backend owns (a copy: OpenVINO reuses the memory);
    strings as an object array of bytes, as Triton's Python backend sends ``BYTES``."""
    if tensor.get_element_type() == ov.Type.string:
        return np.array(tensor.bytes_data).astype(np.object_).reshape(tuple(tensor.shape))
    return np.array(tensor.data, copy=True)
