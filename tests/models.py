"""Small OpenVINO models built with the opset API for the tests (no downloads)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import openvino as ov
from openvino import opset13 as ops


def scale_model(
    shape: Sequence[int] = (-1, 4),
    dtype: type = np.float32,
    input_name: str = "INPUT/x:0",
    output_name: str = "out.y",
    factor: float = 2.0,
) -> ov.Model:
    """y = x * factor, with names that contain '/', ':' and '.'."""
    x = ops.parameter(list(shape), dtype, name=input_name)
    y = ops.multiply(x, ops.constant(np.array(factor).astype(dtype)))
    y.output(0).get_tensor().set_names({output_name})
    return ov.Model([y], [x], "scale")


def two_input_model(dtype: type = np.float32) -> ov.Model:
    """sum = a + b and prod = a * b, both [-1, 3]."""
    a = ops.parameter([-1, 3], dtype, name="a")
    b = ops.parameter([-1, 3], dtype, name="b")
    s = ops.add(a, b)
    p = ops.multiply(a, b)
    s.output(0).get_tensor().set_names({"sum"})
    p.output(0).get_tensor().set_names({"prod"})
    return ov.Model([s, p], [a, b], "two")


def image_model() -> ov.Model:
    """NCHW [1,3,4,4] -> per-channel mean [1,3]: shows a layout transposition."""
    x = ops.parameter([1, 3, 4, 4], np.float32, name="image")
    y = ops.reduce_mean(x, ops.constant(np.array([2, 3], dtype=np.int64)), keep_dims=False)
    y.output(0).get_tensor().set_names({"mean"})
    return ov.Model([y], [x], "image")


def save(model: ov.Model, version_dir: Path, stem: str = "model") -> Path:
    version_dir.mkdir(parents=True, exist_ok=True)
    path = version_dir / f"{stem}.xml"
    ov.save_model(model, str(path), compress_to_fp16=False)
    return path
