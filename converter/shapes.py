"""OVMS ``batch_size``, ``shape`` and ``layout`` -> the backend's RESHAPE, LAYOUT and Triton batching.

The syntax of dimensions, shapes and layouts is the backend's (``ovtriton.backend.dims``).

Rules (OVMS semantics kept exactly, except where Triton batching is a strict superset):

- ``shape`` wins over ``batch_size`` (OVMS ignores batch_size then, with a warning).
- ``layout`` comes first: OVMS applies it, then reads ``shape`` and ``batch_size`` in the
  *request's* layout (``shape (1,1,2,3)`` + ``layout NHWC:NCHW`` takes ``[1,1,2,3]`` requests);
  the backend applies LAYOUT before RESHAPE for the same reason.
- ``shape`` -> RESHAPE of the full request shape; ``max_batch_size: 0``.
- ``batch_size`` N or ``-1`` -> RESHAPE of the batch dimension only (the ``N`` of the layout's
  request side, else dimension 0); ``max_batch_size: 0`` and full dims, so requests keep
  OVMS's shapes.
- ``batch_size`` ``"1:B"`` (or ``"0:B"``) with the batch first on every input -> Triton
  ``max_batch_size: B`` + ``dynamic_batching {}``: clients send the same 1..B batches as before
  and Triton may now join requests. Other ranges fall back to RESHAPE.
- ``auto`` (deprecated in OVMS) -> dynamic dimensions (-1), with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ovtriton.backend.dims import AUTO, Dim, layout_sides, parse_dim, parse_layout, parse_shape

__all__ = ["Dim", "Shaping", "parse_batch_size", "parse_layout", "parse_shape", "plan_shaping"]

_BATCH = re.compile(r"(?:[0-9]+|-1|[0-9]+:[0-9]+)")


def parse_batch_size(value: str) -> Dim | None:
    """``"8"`` -> 8, ``"-1"`` -> -1, ``"1:8"`` -> ``"1:8"``, ``"auto"`` -> -1; ``"0"`` -> None."""
    text = value.strip()
    if text.lower() == AUTO:
        return -1
    if not _BATCH.fullmatch(text):
        raise ValueError(f'batch_size {value!r} must be an integer, "-1", "min:max" or "auto"')
    if text == "0":
        return None  # OVMS: 0 = take the batch size from the model
    return parse_dim(text)


@dataclass(frozen=True)
class Shaping:
    """What the backend is asked to do with one model's shapes."""

    max_batch_size: int = 0
    reshape: Mapping[str, list[Dim]] = field(default_factory=dict)
    layout: Mapping[str, str] = field(default_factory=dict)


def plan_shaping(
    inputs: Mapping[str, Sequence[Dim]],
    shapes: Mapping[str, tuple[Dim, ...] | None],
    batch: Dim | None,
    layouts: Mapping[str, str],
    triton_batching: bool = True,
) -> Shaping:
    """Combine the parsed OVMS fields for a model whose (mapped) inputs have the given shapes
    (in the request's layout, i.e. after ``layouts`` is applied).

    ``shapes`` maps input name -> parsed shape (``None`` = auto). ``batch`` is only used when
    ``shapes`` is empty. Raises ``ValueError`` for combinations that cannot work.
    """
    reshape: dict[str, list[Dim]] = {}
    if shapes:
        for name, shape in shapes.items():
            reshape[name] = [-1] * len(inputs[name]) if shape is None else list(shape)
        return Shaping(0, reshape, dict(layouts))
    if batch is None:
        return Shaping(0, {}, dict(layouts))
    positions = {
        name: _batch_position(name, layouts.get(name), len(dims)) for name, dims in inputs.items()
    }
    low_high = batch.split(":") if isinstance(batch, str) else None
    request_first = all(
        not layouts.get(name) or layout_sides(layouts[name])[0].startswith("N") for name in inputs
    )
    if (
        triton_batching
        and low_high
        and int(low_high[0]) <= 1
        and request_first
        and all(position == 0 for position in positions.values())
    ):
        return Shaping(int(low_high[1]), {}, dict(layouts))
    for name, dims in inputs.items():
        full = list(dims)
        full[positions[name]] = batch
        reshape[name] = full
    return Shaping(0, reshape, dict(layouts))


def _batch_position(name: str, layout: str | None, rank: int) -> int:
    if rank == 0:
        raise ValueError(f"input {name!r} is a scalar; it has no batch dimension to set")
    if not layout:
        return 0
    request_side = layout_sides(layout)[0]  # batch_size is read after the layout, as in OVMS
    if "N" not in request_side:
        raise ValueError(
            f"input {name!r} has layout {layout!r} without N, so batch_size has no dimension to set"
        )
    if "..." in request_side[: request_side.index("N")]:
        raise ValueError(
            f"input {name!r}: layout {layout!r} puts N after '...'; give a full layout"
        )
    return request_side.index("N")
