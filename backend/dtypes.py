"""One table for the data types Triton, NumPy and OpenVINO share (Triton spells them ``TYPE_FP32``)."""

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
    """``"TYPE_FP32"`` -> ``"FP32"``: the spelling Triton's wire protocol and its errors use."""
    return datatype[len("TYPE_") :] if datatype.startswith("TYPE_") else datatype
