"""A custom node library (OVMS's C API) loaded with ctypes: the node kind ``"type": "custom"``.

The library's memory rules are OVMS's: inputs belong to the caller and are read-only; the outputs
array, each output's ``data`` and ``dims``, the info array and each info ``dims`` belong to the
library and go back through its ``release`` (with the internal manager) once copied into NumPy.
After a non-zero return from ``execute`` the library cleans up itself, as OVMS expects.
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import custom_node_abi as abi
from .errors import BackendError, ModelLoadError

LOGGER = logging.getLogger(__name__)


class CustomNodeLoadError(ModelLoadError):
    """The library cannot serve: it does not load, lacks a symbol, or its initialize or
    metadata call fails. The pipeline model that uses it fails to load."""


class CustomNodeError(BackendError):
    """One execution of the library failed; ``status`` is OVMS's name for the failure
    (e.g. ``NODE_LIBRARY_EXECUTION_FAILED``), ``grpc_code`` the gRPC code OVMS answers with."""

    def __init__(self, message: str, status: str) -> None:
        super().__init__(message)
        self.status = status
        # OVMS's gRPC table has no NODE_LIBRARY_* entry: they all answer UNKNOWN.
        self.grpc_code = "INVALID_ARGUMENT" if status == "INVALID_PRECISION" else "UNKNOWN"


@dataclass(frozen=True)
class TensorInfo:
    """One entry of ``getInputsInfo``/``getOutputsInfo``: dims with -1 where the library said 0
    (dynamic), ``dtype`` None when the precision is UNSPECIFIED (any)."""

    name: str
    precision: str
    dtype: Optional[np.dtype]
    dims: tuple[int, ...]


class CustomNodeLibrary:
    """One loaded ``.so``; ``execute`` may be called from many threads at once (OVMS does), and
    ``close`` waits for the executions in flight."""

    def __init__(self, path: str | os.PathLike, node: str | None = None) -> None:
        self.path = str(path)
        self.label = f"custom node {node!r} (library {self.path})" if node else self.path
        if not Path(self.path).is_file():
            raise CustomNodeLoadError(
                f"custom node library {self.path}: no such file; set 'base_path' of the "
                "library in custom_node_library_config_list to an existing .so"
            )
        try:
            # RTLD_LOCAL: the six generic names (execute, release, ...) must not clash
            # between libraries.
            self._cdll = ctypes.CDLL(self.path, mode=os.RTLD_LOCAL)
        except OSError as exc:
            raise CustomNodeLoadError(
                f"custom node library {self.path}: cannot be loaded: {exc}; check that it is a "
                "shared library for this platform and that its dependencies are found (ldd)"
            ) from None
        try:
            self._fn = abi.bind(self._cdll)
        except AttributeError as exc:
            missing = next(s for s in abi.PROTOTYPES if not hasattr(self._cdll, s))
            raise CustomNodeLoadError(
                f"custom node library {self.path}: does not export the symbol {missing!r} of "
                f"OVMS's custom node API; export all of {', '.join(abi.PROTOTYPES)} "
                f'(extern "C") ({exc})'
            ) from None
        self._manager = ctypes.c_void_p()
        self._state = "loaded"  # -> "initialized" -> "closed"
        self._busy = threading.Condition()
        self._active = 0

    # -- life cycle -------------------------------------------------------------------------
    def initialize(self, params: Mapping[str, str]) -> None:
        """Call ``initialize`` with the node's ``params`` (strings, as OVMS passes them: OVMS
        initializes a library once per node, with that node's params and its own manager)."""
        if self._state != "loaded":
            raise RuntimeError(f"{self.label}: initialize() called when {self._state}")
        c_params = abi.ParamArray(params)
        code = self._fn["initialize"](ctypes.byref(self._manager), c_params.pointer, c_params.count)
        if code != 0:
            raise CustomNodeLoadError(
                f"{self.label}: initialize returned {code} with params {dict(params)!r} "
                "(OVMS: Failure during custom node library initialization); check the "
                "library's params"
            )
        self._state = "initialized"

    def close(self) -> None:
        """Wait for executions in flight, then ``deinitialize`` (a failure is only logged, as
        OVMS does). Closing twice is harmless."""
        with self._busy:
            if self._state == "closed":
                return
            was_initialized = self._state == "initialized"
            self._state = "closed"
            self._busy.wait_for(lambda: self._active == 0)
        if was_initialized:
            code = self._fn["deinitialize"](self._manager)
            if code != 0:
                LOGGER.error("%s: deinitialize returned %d", self.label, code)

    def __enter__(self) -> CustomNodeLibrary:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- metadata ---------------------------------------------------------------------------
    def inputs_info(self, params: Mapping[str, str]) -> dict[str, TensorInfo]:
        return self._info("getInputsInfo", params)

    def outputs_info(self, params: Mapping[str, str]) -> dict[str, TensorInfo]:
        return self._info("getOutputsInfo", params)

    def _info(self, symbol: str, params: Mapping[str, str]) -> dict[str, TensorInfo]:
        self._enter()
        try:
            info = ctypes.POINTER(abi.CustomNodeTensorInfo)()
            count = ctypes.c_int(0)
            c_params = abi.ParamArray(params)
            code = self._fn[symbol](
                ctypes.byref(info), ctypes.byref(count), c_params.pointer, c_params.count,
                self._manager,
            )  # fmt: skip
            if code != 0:
                raise CustomNodeLoadError(
                    f"{self.label}: {symbol} returned {code} (OVMS: Custom node failed on "
                    "metadata call); check the node's params"
                )
            return self._read_info(symbol, info, count.value)
        finally:
            self._leave()

    def _read_info(self, symbol: str, info: ctypes._Pointer, count: int) -> dict[str, TensorInfo]:
        if not info:
            raise CustomNodeLoadError(f"{self.label}: {symbol} returned a null info array")
        result: dict[str, TensorInfo] = {}
        for entry in info[: max(count, 0)]:
            dims = tuple(int(d) or -1 for d in entry.dims[: entry.dimsCount]) if entry.dims else ()
            self._release(entry.dims)
            if entry.name is None:
                continue  # OVMS skips unnamed entries
            name = entry.name.decode()
            dtype = abi.dtype_of(entry.precision) if entry.precision != abi.UNSPECIFIED else None
            result[name] = TensorInfo(name, abi.precision_name(entry.precision), dtype, dims)
        self._release(info)
        if count <= 0:
            raise CustomNodeLoadError(f"{self.label}: {symbol} returned {count} tensors")
        return result

    # -- execution --------------------------------------------------------------------------
    def execute(
        self, inputs: Mapping[str, np.ndarray], params: Mapping[str, str]
    ) -> dict[str, np.ndarray]:
        """Run the library once; its outputs are copied into NumPy arrays and released."""
        precisions = []
        for name, value in inputs.items():
            try:
                precisions.append(abi.precision_of(value.dtype))
            except KeyError:
                raise CustomNodeError(
                    f"{self.label}: input {name!r} has data type {value.dtype}, which OVMS's "
                    f"custom node API cannot carry ({', '.join(abi.PRECISION_NAMES)})",
                    "INVALID_PRECISION",
                ) from None
        c_inputs = abi.InputArray.of(inputs, precisions)
        c_params = abi.ParamArray(params)
        outputs = ctypes.POINTER(abi.CustomNodeTensor)()
        count = ctypes.c_int(0)
        self._enter()
        try:
            code = self._fn["execute"](
                c_inputs.array, len(precisions), ctypes.byref(outputs), ctypes.byref(count),
                c_params.pointer, c_params.count, self._manager,
            )  # fmt: skip
            if code != 0:
                raise CustomNodeError(
                    f"{self.label}: execute returned {code} (OVMS: Custom node failed during "
                    "execution)",
                    "NODE_LIBRARY_EXECUTION_FAILED",
                )
            return self._collect(outputs, count.value)
        finally:
            self._leave()

    def _collect(self, outputs: ctypes._Pointer, count: int) -> dict[str, np.ndarray]:
        if not outputs:
            raise CustomNodeError(
                f"{self.label}: execute returned a null outputs array",
                "NODE_LIBRARY_OUTPUTS_CORRUPTED",
            )
        if count <= 0:
            self._release(outputs)
            raise CustomNodeError(
                f"{self.label}: execute returned {count} outputs",
                "NODE_LIBRARY_OUTPUTS_CORRUPTED_COUNT",
            )
        result: dict[str, np.ndarray] = {}
        failure: CustomNodeError | None = None
        for tensor in outputs[:count]:
            try:  # every tensor is released, even after a failure (OVMS does the same)
                array = self._copy(tensor)
            except CustomNodeError as exc:
                failure = failure or exc
                continue
            finally:
                self._release(tensor.data)
                self._release(tensor.dims)
            if tensor.name is None:
                failure = failure or CustomNodeError(
                    f"{self.label}: execute returned an output without a name",
                    "NODE_LIBRARY_OUTPUT_MISSING_NAME",
                )
                continue
            result[tensor.name.decode()] = array
        self._release(outputs)
        if failure is not None:
            raise failure
        return result

    def _copy(self, tensor: abi.CustomNodeTensor) -> np.ndarray:
        where = f"{self.label}: output {tensor.name.decode() if tensor.name else '<unnamed>'!r}"
        try:
            dtype = abi.dtype_of(tensor.precision)
        except KeyError:
            raise CustomNodeError(
                f"{where} has precision {abi.precision_name(tensor.precision)}; set one of "
                f"{', '.join(abi.PRECISION_NAMES)}",
                "NODE_LIBRARY_INVALID_PRECISION",
            ) from None
        shape = tuple(int(d) for d in tensor.dims[: tensor.dimsCount]) if tensor.dims else ()
        expected = math.prod(shape) * dtype.itemsize
        if not tensor.data or tensor.dataBytes != expected:
            found = "a null data pointer" if not tensor.data else f"{tensor.dataBytes} bytes"
            raise CustomNodeError(
                f"{where}: dims {list(shape)} of {abi.precision_name(tensor.precision)} need "
                f"{expected} bytes, the library returned {found}",
                "NODE_LIBRARY_INVALID_CONTENT_SIZE",
            )
        array = np.empty(shape, dtype)
        ctypes.memmove(array.ctypes.data, tensor.data, expected)
        return array

    # -- helpers ----------------------------------------------------------------------------
    def _release(self, pointer: Any) -> None:
        if pointer:
            code = self._fn["release"](ctypes.cast(pointer, ctypes.c_void_p), self._manager)
            if code != 0:
                LOGGER.error("%s: release returned %d", self.label, code)

    def _enter(self) -> None:
        with self._busy:
            if self._state != "initialized":
                raise RuntimeError(f"{self.label}: used when {self._state}; initialize() first")
            self._active += 1

    def _leave(self) -> None:
        with self._busy:
            self._active -= 1
            self._busy.notify_all()
