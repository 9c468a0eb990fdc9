"""What the compiled model accepts, checked against config.pbtxt at load and every request at run time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import numpy as np
import openvino as ov

from . import dtypes
from .errors import ModelLoadError, RequestError
from .tensors import TensorSpec, describe

Bound = tuple[int, Optional[int]]  # (min, max); max None = unbounded


@dataclass(frozen=True)
class Signature:
    """What a prepared model takes and gives, and which sizes each dimension allows.

    ``inputs``/``outputs`` are in the model's order (the index infer requests take);
    ``bounds`` maps each input's and output's name to (min, max) per dimension.
    """

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    max_batch_size: int
    bounds: Mapping[str, tuple[Bound, ...]] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, model: ov.Model, max_batch_size: int) -> "Signature":
        ports = [*model.inputs, *model.outputs]
        bounds = {spec.name: port_bounds(port) for port, spec in zip(ports, describe(ports))}
        return cls(
            tuple(describe(model.inputs)), tuple(describe(model.outputs)), max_batch_size, bounds
        )

    def shape_text(self, spec: TensorSpec) -> str:
        """``[1:8,3,-1]``: the allowed sizes of each dimension of an input or output."""
        return bounds_text(self.bounds[spec.name])

    def check_config(self, config: Mapping[str, Any]) -> None:
        """Refuse a config.pbtxt whose inputs/outputs do not match the model (load-time error)."""
        problems = self._compare("input", self.inputs, config.get("input", []))
        problems += self._compare("output", self.outputs, config.get("output", []))
        declared = {t.get("name") for t in config.get("input", [])}
        for spec in self.inputs:
            if spec.name not in declared:
                problems.append(
                    f"model input {spec.name!r} ({dtypes.short_name(spec.datatype)} "
                    f"{self.shape_text(spec)}) is not declared in config.pbtxt"
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
        for spec in self.inputs:
            array = tensors[spec.name]
            if array.dtype != dtypes.numpy_from_triton(spec.datatype):
                got = dtypes.short_name(_triton_or_text(array.dtype))
                raise RequestError(
                    f"input {spec.name!r}: expected data type "
                    f"{dtypes.short_name(spec.datatype)}, got {got}"
                )
            if 0 in array.shape:
                raise RequestError(
                    f"input {spec.name!r}: empty tensor (shape "
                    f"[{','.join(map(str, array.shape))}]); every dimension must be at least 1"
                )
            bounds = self.bounds[spec.name]
            if array.ndim != len(bounds) or not all(
                _fits(d, b) for d, b in zip(array.shape, bounds)
            ):
                raise RequestError(
                    f"input {spec.name!r}: expected shape {self.shape_text(spec)}, got "
                    f"[{','.join(map(str, array.shape))}]"
                )
            if self.max_batch_size > 0:
                if batch is not None and array.shape[0] != batch:
                    raise RequestError(
                        f"input {spec.name!r}: batch size {array.shape[0]} differs from the "
                        f"other inputs' {batch}"
                    )
                batch = array.shape[0]
        return batch if batch is not None else 1

    def _compare(self, kind: str, specs: tuple[TensorSpec, ...], declared: list) -> list[str]:
        by_name = {spec.name: spec for spec in specs}
        batched = self.max_batch_size > 0
        problems = []
        for tensor in declared:
            name = tensor.get("name", "")
            spec = by_name.get(name)
            if spec is None:
                problems.append(
                    f"config {kind} {name!r} is not a model {kind}; the model's {kind}s are "
                    f"{sorted(by_name)}"
                )
                continue
            if tensor.get("data_type") != spec.datatype:
                problems.append(
                    f"config {kind} {name!r} has data_type {tensor.get('data_type')}, the model "
                    f"{spec.datatype}"
                )
            reshape = tensor.get("reshape") or {}
            dims = [
                int(d) for d in (reshape.get("shape") or [] if reshape else tensor.get("dims", []))
            ]
            full = ([-1] + dims) if batched else dims
            bounds = self.bounds[name]
            if len(full) != len(bounds) or not all(
                d == -1 or _fits(d, b) for d, b in zip(full, bounds)
            ):
                shown = f"[{','.join(map(str, dims))}]" + (
                    " after the batch dimension" if batched else ""
                )
                problems.append(
                    f"config {kind} {name!r} has dims {shown}, the model's shape is "
                    f"{self.shape_text(spec)}" + (" (first dimension = batch)" if batched else "")
                )
        return problems


def port_bounds(port: ov.Output) -> tuple[Bound, ...]:
    """The (min, max) of each dimension of a port (max None = unbounded)."""
    return tuple(
        (d.get_min_length(), None if d.get_max_length() < 0 else d.get_max_length())
        for d in port.get_partial_shape()
    )


def bounds_text(bounds: tuple[Bound, ...]) -> str:
    """``[1:8,3,-1]``: OVMS's spelling of the allowed sizes of each dimension."""
    return "[" + ",".join(_bound_text(b) for b in bounds) + "]"


def intersect(a: tuple[Bound, ...], b: tuple[Bound, ...]) -> tuple[Bound, ...] | None:
    """The sizes both allow, per dimension (``1:20`` and ``15:30`` give ``15:20``, OVMS's
    intersection of a pipeline input's consumers); None when no shape fits both."""
    if len(a) != len(b):
        return None
    merged = []
    for (low_a, high_a), (low_b, high_b) in zip(a, b):
        highs = [h for h in (high_a, high_b) if h is not None]
        low, high = max(low_a, low_b), (min(highs) if highs else None)
        if high is not None and low > high:
            return None
        merged.append((low, high))
    return tuple(merged)


def overlap(a: tuple[Bound, ...], b: tuple[Bound, ...]) -> bool:
    """Whether some shape fits both (OVMS's "partially fits": same rank, ranges that meet)."""
    return intersect(a, b) is not None


def dims_of(bounds: tuple[Bound, ...]) -> tuple[int, ...]:
    """Triton's dims for bounds: the size where it is fixed, -1 where it may vary."""
    return tuple(low if low == high else -1 for low, high in bounds)


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
