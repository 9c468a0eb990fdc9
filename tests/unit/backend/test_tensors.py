"""TensorSpec: read from a model's ports, written as a config.pbtxt tensor."""

from __future__ import annotations

import numpy as np
import openvino as ov
import pytest
from openvino import opset13 as ops
from ovtriton.backend.errors import ModelLoadError
from ovtriton.backend.tensors import TensorSpec, describe

from tests.models import scale_model


def test_config_entry_keeps_the_full_shape_without_batching() -> None:
    spec = TensorSpec("x", "TYPE_FP32", (2, 3))
    assert spec.config_entry() == {"name": "x", "data_type": "TYPE_FP32", "dims": [2, 3]}


def test_config_entry_drops_the_batch_dimension_when_batched() -> None:
    spec = TensorSpec("x", "TYPE_INT64", (-1, 3))
    assert spec.config_entry(batched=True) == {"name": "x", "data_type": "TYPE_INT64", "dims": [3]}


def test_config_entry_declares_a_batched_vector_as_one_element_reshaped_to_nothing() -> None:
    entry = TensorSpec("s", "TYPE_BOOL", (-1,)).config_entry(batched=True)
    assert entry == {"name": "s", "data_type": "TYPE_BOOL", "dims": [1], "reshape": {"shape": []}}


def test_config_entry_declares_a_scalar_of_a_non_batching_model_as_one_element() -> None:
    """Triton 2.51 refuses an empty reshape without batching; the backend carries it as [1]."""
    entry = TensorSpec("s", "TYPE_BOOL", ()).config_entry()
    assert entry == {"name": "s", "data_type": "TYPE_BOOL", "dims": [1]}


def test_describe_gives_names_types_and_minus_one_for_dynamic_dims() -> None:
    model = scale_model((-1, 4), np.int64, "in", "out")
    assert describe(model.inputs) == [TensorSpec("in", "TYPE_INT64", (-1, 4))]
    assert describe(model.outputs) == [TensorSpec("out", "TYPE_INT64", (-1, 4))]


def test_describe_refuses_a_dynamic_rank_naming_the_tensor() -> None:
    x = ops.parameter(ov.PartialShape.dynamic(), np.float32, name="x")
    model = ov.Model([ops.relu(x)], [x])
    with pytest.raises(ModelLoadError) as info:
        describe(model.inputs)
    assert str(info.value) == "tensor 'x' has a dynamic rank; set its shape with parameter RESHAPE"


def test_describe_refuses_a_type_triton_cannot_carry() -> None:
    x = ops.parameter([2], ov.Type.bf16, name="x")
    model = ov.Model([ops.relu(x)], [x])
    with pytest.raises(ModelLoadError) as info:
        describe(model.inputs)
    assert str(info.value).startswith(
        "tensor 'x' has element type bf16, which the openvino_py backend does not carry"
    )
