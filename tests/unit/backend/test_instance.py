"""completed_tensors: what auto_complete_config adds to a config.pbtxt without tensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov
import pytest
from openvino import opset13 as ops
from ovtriton.backend.errors import ModelLoadError
from ovtriton.backend.instance import completed_tensors

from tests.models import image_model, save, scale_model


def params(**values: str) -> dict:
    return {k: {"string_value": v} for k, v in values.items()}


def test_completed_tensors_drop_the_batch_dimension_when_batching(tmp_path: Path) -> None:
    save(scale_model((-1, 4)), tmp_path / "1")
    inputs, outputs = completed_tensors(tmp_path / "1", {"name": "m", "max_batch_size": 8})
    assert inputs == [{"name": "INPUT/x:0", "data_type": "TYPE_FP32", "dims": [4]}]
    assert outputs == [{"name": "out.y", "data_type": "TYPE_FP32", "dims": [4]}]


def test_completed_tensors_follow_the_layout_parameter(tmp_path: Path) -> None:
    save(image_model(), tmp_path / "1")
    config = {"name": "m", "parameters": params(LAYOUT='{"image": "NHWC:NCHW"}')}
    inputs, outputs = completed_tensors(tmp_path / "1", config)
    assert inputs == [{"name": "image", "data_type": "TYPE_FP32", "dims": [1, 4, 4, 3]}]
    assert outputs == [{"name": "mean", "data_type": "TYPE_FP32", "dims": [1, 3]}]


def test_completed_tensors_keep_a_section_the_config_already_has(tmp_path: Path) -> None:
    save(scale_model((-1, 4)), tmp_path / "1")
    written = [{"name": "INPUT/x:0", "data_type": "TYPE_FP32", "dims": [-1, 4]}]
    inputs, outputs = completed_tensors(tmp_path / "1", {"name": "m", "input": written})
    assert inputs == []
    assert outputs == [{"name": "out.y", "data_type": "TYPE_FP32", "dims": [-1, 4]}]


def test_completed_tensors_declare_a_scalar_as_one_element(tmp_path: Path) -> None:
    """Triton 2.51 has no 0-d tensors; the backend carries a scalar as [1] (carry_scalars)."""
    x = ops.parameter([], np.float32, name="x")
    y = ops.relu(x)
    y.output(0).get_tensor().set_names({"y"})
    save(ov.Model([y], [x]), tmp_path / "1")
    inputs, outputs = completed_tensors(tmp_path / "1", {"name": "m"})
    assert inputs == [{"name": "x", "data_type": "TYPE_FP32", "dims": [1]}]
    assert outputs == [{"name": "y", "data_type": "TYPE_FP32", "dims": [1]}]


def test_completed_tensors_refuse_a_batched_vector_with_the_config_to_write(
    tmp_path: Path,
) -> None:
    save(scale_model((-1,)), tmp_path / "1")
    with pytest.raises(ModelLoadError) as info:
        completed_tensors(tmp_path / "1", {"name": "m", "max_batch_size": 4})
    assert str(info.value) == (
        "input 'INPUT/x:0' is a scalar, which Triton cannot declare without reshape; write the "
        "inputs in config.pbtxt, e.g. dims: [ 1 ] reshape: { shape: [ ] }"
    )


def test_completed_tensors_name_a_missing_model_file(tmp_path: Path) -> None:
    (tmp_path / "1").mkdir()
    with pytest.raises(ModelLoadError) as info:
        completed_tensors(tmp_path / "1", {"name": "m"})
    assert str(info.value).startswith(f"no model file in {tmp_path / '1'}: expected one of")
