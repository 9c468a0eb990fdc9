"""String tensors: Triton's BYTES (object arrays of bytes) <-> OpenVINO's string tensors."""

from __future__ import annotations

import numpy as np
import openvino as ov
from openvino import opset13 as ops

from ovtriton.backend import dtypes
from ovtriton.backend.engine import Engine
from ovtriton.backend.errors import RequestError
from ovtriton.backend.prepare import prepare_model
from ovtriton.backend.settings import BackendSettings
from ovtriton.backend.signature import Signature
from ovtriton.backend.tensors import TensorSpec, describe


def string_model() -> ov.Model:
    """text [-1] (strings) -> rows [-1,1] (the same strings) and count [1] (int64)."""
    text = ops.parameter([-1], ov.Type.string, name="text")
    text.output(0).get_tensor().set_names({"text"})
    rows = ops.reshape(text, ops.constant(np.array([-1, 1], np.int64)), False)
    rows.output(0).get_tensor().set_names({"rows"})
    count = ops.shape_of(text)
    count.output(0).get_tensor().set_names({"count"})
    return ov.Model([rows, count], [text], "strings")


def test_a_string_tensor_is_declared_as_triton_type_string() -> None:
    model = string_model()
    assert describe(model.inputs) == [TensorSpec("text", "TYPE_STRING", (-1,))]
    assert dtypes.short_name("TYPE_STRING") == "BYTES"  # Triton's wire spelling


def test_engine_runs_strings_as_triton_sends_them() -> None:
    model = prepare_model(string_model(), BackendSettings(), 0)
    engine = Engine(ov.Core().compile_model(model, "CPU"), Signature.of(model, 0), 1)
    words = ["añb".encode(), b"", b"tab\tand\nnewline", b"x" * 1000]
    text = np.array(words, dtype=np.object_)  # what pb_utils' as_numpy gives for BYTES
    (result,) = engine.run([{"text": text}])
    assert not isinstance(result, RequestError), result
    assert result["rows"].dtype == np.object_ and result["rows"].shape == (4, 1)
    assert result["rows"][:, 0].tolist() == words
    assert result["count"].tolist() == [4]


def test_engine_refuses_numbers_for_a_string_input_naming_the_types() -> None:
    model = prepare_model(string_model(), BackendSettings(), 0)
    engine = Engine(ov.Core().compile_model(model, "CPU"), Signature.of(model, 0), 1)
    (result,) = engine.run([{"text": np.zeros(2, np.float32)}])
    assert str(result) == "input 'text': expected data type BYTES, got FP32"
