"""OVMS's custom node C ABI, declared for ctypes.

Written from OVMS's documentation of the interface (``docs/custom_node_development.md`` and the
documented header ``src/custom_node_interface.h``): three structs, one precision enum and six
``extern "C"`` functions that all return ``int`` (0 = success). The declarations are ours; only
the interface facts (field order, types, enum values, prototypes) come from OVMS.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# CustomNodeTensorPrecision: a C enum (int-sized), values in declaration order.
UNSPECIFIED = 0
_PRECISIONS: dict[int, tuple[str, np.dtype]] = {
    1: ("FP32", np.dtype(np.float32)),
    2: ("FP16", np.dtype(np.float16)),
    3: ("U8", np.dtype(np.uint8)),
    4: ("I8", np.dtype(np.int8)),
    5: ("I16", np.dtype(np.int16)),
    6: ("U16", np.dtype(np.uint16)),
    7: ("I32", np.dtype(np.int32)),
    8: ("FP64", np.dtype(np.float64)),
    9: ("I64", np.dtype(np.int64)),
}
_BY_DTYPE = {dtype: code for code, (_, dtype) in _PRECISIONS.items()}
PRECISION_NAMES = tuple(name for name, _ in _PRECISIONS.values())


def dtype_of(precision: int) -> np.dtype:
    """The NumPy dtype of an ABI precision; ``KeyError`` for UNSPECIFIED or an unknown value."""
    return _PRECISIONS[precision][1]


def precision_name(precision: int) -> str:
    if precision == UNSPECIFIED:
        return "UNSPECIFIED"
    return _PRECISIONS[precision][0] if precision in _PRECISIONS else f"UNKNOWN({precision})"


def precision_of(dtype: np.dtype) -> int:
    """The ABI precision of a NumPy dtype; ``KeyError`` for dtypes the ABI cannot carry
    (bool, uint32, uint64, strings: OVMS has no precision for them)."""
    return _BY_DTYPE[np.dtype(dtype).newbyteorder("=")]


class CustomNodeTensor(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("data", ctypes.POINTER(ctypes.c_uint8)),
        ("dataBytes", ctypes.c_uint64),
        ("dims", ctypes.POINTER(ctypes.c_uint64)),
        ("dimsCount", ctypes.c_uint64),
        ("precision", ctypes.c_int),
    ]


class CustomNodeTensorInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("dims", ctypes.POINTER(ctypes.c_uint64)),
        ("dimsCount", ctypes.c_uint64),
        ("precision", ctypes.c_int),
    ]


class CustomNodeParam(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("value", ctypes.c_char_p)]


_TENSORS_OUT = ctypes.POINTER(ctypes.POINTER(CustomNodeTensor))
_INFO_OUT = ctypes.POINTER(ctypes.POINTER(CustomNodeTensorInfo))
_PARAMS = ctypes.POINTER(CustomNodeParam)
_INT_OUT = ctypes.POINTER(ctypes.c_int)
_VOID = ctypes.c_void_p

# symbol -> argument types; every function returns int.
PROTOTYPES: dict[str, list] = {
    "initialize": [ctypes.POINTER(_VOID), _PARAMS, ctypes.c_int],
    "deinitialize": [_VOID],
    "execute": [
        ctypes.POINTER(CustomNodeTensor),
        ctypes.c_int,
        _TENSORS_OUT,
        _INT_OUT,
        _PARAMS,
        ctypes.c_int,
        _VOID,
    ],
    "getInputsInfo": [_INFO_OUT, _INT_OUT, _PARAMS, ctypes.c_int, _VOID],
    "getOutputsInfo": [_INFO_OUT, _INT_OUT, _PARAMS, ctypes.c_int, _VOID],
    "release": [_VOID, _VOID],
}


def bind(library: ctypes.CDLL) -> dict[str, Any]:
    """The six functions of a loaded library with their prototypes set; ``AttributeError``
    names the first missing symbol."""
    functions = {}
    for symbol, argtypes in PROTOTYPES.items():
        function = getattr(library, symbol)
        function.argtypes = argtypes
        function.restype = ctypes.c_int
        functions[symbol] = function
    return functions


class ParamArray:
    """A node's ``params`` as the C array OVMS passes: the same key/value strings, kept alive
    for as long as this object is."""

    def __init__(self, params: Mapping[str, str]) -> None:
        self._strings = [(str(k).encode(), str(v).encode()) for k, v in params.items()]
        self.count = len(self._strings)
        entries = [CustomNodeParam(key, value) for key, value in self._strings]
        self.array = (CustomNodeParam * self.count)(*entries) if self.count else None

    @property
    def pointer(self) -> object:
        return self.array if self.array is not None else None


@dataclass(frozen=True)
class InputArray:
    """Input tensors as a ``CustomNodeTensor[]`` pointing at (contiguous copies of) the arrays."""

    array: ctypes.Array
    keep_alive: tuple

    @classmethod
    def of(cls, inputs: Mapping[str, np.ndarray], precisions: Sequence[int]) -> InputArray:
        entries, alive = [], []
        for (name, value), precision in zip(inputs.items(), precisions):
            data = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("="))
            dims = (ctypes.c_uint64 * max(data.ndim, 1))(*data.shape)
            encoded = name.encode()
            alive += [data, dims, encoded]
            entries.append(
                CustomNodeTensor(
                    encoded,
                    data.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)),
                    data.nbytes,
                    dims,
                    data.ndim,
                    precision,
                )
            )
        array = (CustomNodeTensor * max(len(entries), 1))(*entries)
        return cls(array, tuple(alive))
