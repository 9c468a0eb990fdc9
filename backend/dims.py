"""The one syntax for dimensions, shapes and layouts: OVMS's, used by the backend and converter.

- A dimension is an integer >= 1, ``-1`` (any size) or ``"min:max"`` (a range, ``max`` >= 1
  and >= ``min``; ``min`` may be 0). In OVMS's ``shape`` strings it is text, in the backend's
  RESHAPE parameter a JSON number or string.
- A shape string is ``"(1,3,224:448,-1)"`` (or with brackets), or ``"auto"`` (deprecated).
- A layout is ``"NCHW"`` (tags the dimensions) or ``"NHWC:NCHW"`` (request side : model side),
  made of ``N C H W D ?`` and ``...``, upper-cased.
"""

from __future__ import annotations

import re
from typing import Any, Union

Dim = Union[int, str]  # an integer >= 1, -1, or "min:max"

AUTO = "auto"
MAX_DIM = 2**31 - 1  # Triton's max_batch_size is an int32; no real dimension comes close
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also accepts "²"
_LAYOUT_SIDE = re.compile(r"^(?:[NCHWD?]|\.\.\.)+$")
DIM_RULE = 'an integer >= 1, -1 or "min:max"'


def parse_dim(text: str) -> Dim:
    """``"8"`` -> 8, ``"-1"`` -> -1, ``"2:8"`` -> ``"2:8"``; ``ValueError`` saying why not."""
    text = text.strip()
    if text == "-1":
        return -1
    low, sep, high = text.partition(":")
    numbers = [low, high] if sep else [text]
    if all(_DIGITS.fullmatch(n) for n in numbers) and max(map(int, numbers)) > MAX_DIM:
        raise ValueError(f"dimension {text!r} is larger than {MAX_DIM}")
    if _DIGITS.fullmatch(text) and int(text) >= 1:
        return int(text)
    if sep and _DIGITS.fullmatch(low) and _DIGITS.fullmatch(high) and 1 <= int(high) >= int(low):
        return f"{int(low)}:{int(high)}"
    raise ValueError(f"dimension {text!r} is not {DIM_RULE}")


def check_dim(value: Any) -> Dim:
    """A dimension given as JSON (the RESHAPE parameter): a number or a ``"min:max"`` string."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"dimension {value!r} must be {DIM_RULE}")
    if isinstance(value, int):
        if value == -1 or 1 <= value <= MAX_DIM:
            return value
        raise ValueError(f"dimension {value!r} must be {DIM_RULE}")
    if ":" not in value:
        raise ValueError(f"dimension {value!r} must be {DIM_RULE} (numbers without quotes)")
    return parse_dim(value)


def check_dims(value: Any) -> list[Dim]:
    """A shape given as JSON: a non-empty list of dimensions."""
    if not isinstance(value, list) or not value:
        raise ValueError(f"shape {value!r} must be a non-empty list of dimensions")
    return [check_dim(dim) for dim in value]


def parse_shape(text: str) -> tuple[Dim, ...] | None:
    """``"(1,3,224:448,-1)"`` -> ``(1, 3, "224:448", -1)``; ``"auto"`` -> ``None``."""
    stripped = text.strip()
    if stripped.lower() == AUTO:
        return None
    if len(stripped) < 2 or stripped[0] not in "([" or stripped[-1] not in ")]":
        raise ValueError(f'shape {text!r} must look like "(1,3,224,224)"')
    body = stripped[1:-1].strip()
    if not body:
        raise ValueError(f"shape {text!r} has no dimensions")
    return tuple(parse_dim(part) for part in body.split(","))


def parse_layout(text: str) -> str:
    """``"nhwc:nchw"`` -> ``"NHWC:NCHW"`` (request side : model side)."""
    upper = text.strip().upper()
    sides = upper.split(":")
    if len(sides) > 2 or not all(_LAYOUT_SIDE.match(side) for side in sides):
        raise ValueError(
            f'layout {text!r} must be like "NCHW" or "NHWC:NCHW" (request:model), using '
            f"N C H W D ? and ..."
        )
    return upper


def layout_sides(layout: str) -> tuple[str, str]:
    """``"NHWC:NCHW"`` -> ``("NHWC", "NCHW")``; ``"NCHW"`` -> ``("NCHW", "NCHW")``."""
    request_side, _, model_side = layout.partition(":")
    return request_side, model_side or request_side
