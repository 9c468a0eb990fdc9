"""What the compiled model accepts, checked against config.pbtxt at load and every request at run time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

import numpy as np
import openvino as ov

from . import dtypes
from .errors import ModelLoadError, RequestError
from .prepare import describe

Bound = tuple[int, Optional[int]]  # (min, max); max None = unbounded


@dataclass(frozen=True)
class Port:
    """One model input or output: its Triton name, position in the model, type and allowed dims."""

    name: str
    index: int
    triton_type: str
    bounds: tuple[Bound, ...]

    @property
    def dtype(self) -> np.dtype:
        return dtypes.numpy_from_triton(self.triton_type)

    def shape_text(self) -> str:
        return "[" + ",".join(_bound_text(b) for b in self.bounds) + "]"


@dataclass(frozen=True)
class Signature:
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    max_batch_size: int

    @classmethod
    def of(cls, model: ov.Model, max_batch_size: int) -> "Signature":
        return cls(_ports(model.inputs), _ports(model.outputs), max_batch_size)

    def check_config(self, config: Mapping[str, Any]) -> None:
        """Refuse a config.pbtxt whose inputs/outputs do not match the model (load-time error)."""
        problems = _compare("input", self.inputs, config.get("input", []), self.max_batch_size)
        problems += _compare("output", self.outputs, config.get("output", []), self.max_batch_size)
        declared = {t.get("name") for t in config.get("input", [])}
        for port in self.inputs:
            if port.name not in declared:
                problems.append(
                    f"model input {port.name!r} ({dtypes.short_name(port.triton_type)} "
                    f"{port.shape_text()}) is not declared in config.pbtxt"
                )
        if problems:
            raise ModelLoadError(
                "config.pbtxt does not match the model:\n  " + "\n  ".join(problems)
            )

    def check_request(self, tensors: Mapping[str, np.ndarray]) -> int:
        """Validate one request; returns its batch size (1 when the model does not batch)."""
        names = {p.name for p in self.inputs}
        missing = sorted(names - set(tensors))
        extra = sorted(set(tensors) - names)
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing input(s) {', '.join(repr(n) for n in missing)}")
            if extra:
                parts.append(f"unexpected input(s) {', '.join(repr(n) for n in extra)}")
            raise RequestError(f"{'; '.join(parts)}; the model takes {sorted(names)}")
        batch: int | None = None
        for port in self.inputs:
            array = tensors[port.name]
            if array.dtype != port.dtype:
                got = dtypes.short_name(_triton_or_text(array.dtype))
                raise RequestError(
                    f"input {port.name!r}: expected data type "
                    f"{dtypes.short_name(port.triton_type)}, got {got}"
                )
            if 0 in array.shape:
                raise RequestError(
                    f"input {port.name!r}: empty tensor (shape "
                    f"[{','.join(map(str, array.shape))}]); every dimension must be at least 1"
                )
            if array.ndim != len(port.bounds) or not all(
                _fits(d, b) for d, b in zip(array.shape, port.bounds)
            ):
                raise RequestError(
                    f"input {port.name!r}: expected shape {port.shape_text()}, got "
                    f"[{','.join(map(str, array.shape))}]"
                )
            if self.max_batch_size > 0:
                if batch is not None and array.shape[0] != batch:
                    raise RequestError(
                        f"input {port.name!r}: batch size {array.shape[0]} differs from the "
                        f"other inputs' {batch}"
                    )
                batch = array.shape[0]
        return batch if batch is not None else 1


def _ports(outputs: list[ov.Output]) -> tuple[Port, ...]:
    ports = []
    # The index is the position among the model's inputs (or outputs), which is what
    # infer requests take; Output.get_index() is the port number on its node.
    for position, (port, spec) in enumerate(zip(outputs, describe(outputs))):
        bounds = tuple(
            (d.get_min_length(), None if d.get_max_length() < 0 else d.get_max_length())
            for d in port.get_partial_shape()
        )
        ports.append(Port(spec.name, position, spec.triton_type, bounds))
    return tuple(ports)


def _compare(kind: str, ports: tuple[Port, ...], declared: list, max_batch_size: int) -> list[str]:
    by_name = {p.name: p for p in ports}
    problems = []
    for tensor in declared:
        name = tensor.get("name", "")
        port = by_name.get(name)
        if port is None:
            problems.append(
                f"config {kind} {name!r} is not a model {kind}; the model's {kind}s are "
                f"{sorted(by_name)}"
            )
            continue
        if tensor.get("data_type") != port.triton_type:
            problems.append(
                f"config {kind} {name!r} has data_type {tensor.get('data_type')}, the model "
                f"{port.triton_type}"
            )
        reshape = tensor.get("reshape") or {}
        dims = [int(d) for d in (reshape.get("shape") or [] if reshape else tensor.get("dims", []))]
        full = ([-1] + dims) if max_batch_size > 0 else dims
        if len(full) != len(port.bounds) or not all(
            d == -1 or _fits(d, b) for d, b in zip(full, port.bounds)
        ):
            shown = f"[{','.join(map(str, dims))}]" + (
                " after the batch dimension" if max_batch_size > 0 else ""
            )
            problems.append(
                f"config {kind} {name!r} has dims {shown}, the model's shape is "
                f"{port.shape_text()}"
                + (" (first dimension = batch)" if max_batch_size > 0 else "")
            )
    return problems


def _fits(dim: int, bound: Bound) -> bool:
    low, high = bound
    return dim >= low and (high is None or dim <= high)


def _bound_text(bound: Bound) -> str:
    low, high = bound
    if high == low:
        return str(low)
    if high is None:
        return "-1" if low == 0 else f"{low}:"
    return f"{low}:{high}"


def _triton_or_text(dtype: np.dtype) -> str:
    try:
        return dtypes.triton_from_numpy(dtype)
    except KeyError:
        return str(dtype)
