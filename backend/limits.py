"""Per-request limits that do not depend on the model's signature: size and non-finite values.

Both are set per model in config.pbtxt (``MAX_INPUT_BYTES``, ``ALLOW_NON_FINITE``) and checked
after the signature check, so a request that passes names, types and shapes is then weighed
and, for floating-point inputs, scanned for NaN and infinity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .errors import RequestError

_FLOATS = (np.float16, np.float32, np.float64)


@dataclass(frozen=True)
class RequestLimits:
    """``max_input_bytes`` 0 = no limit; NaN/inf refused unless ``allow_non_finite``."""

    max_input_bytes: int = 0
    allow_non_finite: bool = False

    def check(self, tensors: Mapping[str, np.ndarray]) -> None:
        """Raise ``RequestError`` naming the limit, the input and how to change the limit."""
        if self.max_input_bytes > 0:
            total = sum(int(a.nbytes) for a in tensors.values())
            if total > self.max_input_bytes:
                largest = max(tensors, key=lambda n: tensors[n].nbytes)
                raise RequestError(
                    f"request inputs total {total} bytes (largest: input {largest!r}, "
                    f"{tensors[largest].nbytes} bytes), above this model's limit "
                    f"MAX_INPUT_BYTES={self.max_input_bytes}; send smaller requests or raise "
                    f"the parameter in config.pbtxt",
                    reason="too_large",
                )
        if not self.allow_non_finite:
            for name, array in tensors.items():
                if array.dtype.type in _FLOATS:
                    _check_finite(name, array)


def _check_finite(name: str, array: np.ndarray) -> None:
    finite = np.isfinite(array)
    if finite.all():
        return
    bad = array[~finite]
    kinds = [k for k, n in (("NaN", np.isnan(bad).sum()), ("infinity", np.isinf(bad).sum())) if n]
    first = tuple(int(i) for i in np.argwhere(~finite)[0])
    raise RequestError(
        f"input {name!r}: contains {' and '.join(kinds)} ({bad.size} of {array.size} values, "
        f"first at index {list(first)}); send finite values, or set parameter ALLOW_NON_FINITE "
        f'to "true" in config.pbtxt if the model expects them',
        reason="non_finite",
    )
