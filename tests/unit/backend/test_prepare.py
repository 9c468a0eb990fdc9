from pathlib import Path

import numpy as np
import openvino as ov
import pytest
from openvino import opset13 as ops

from ovtriton.backend.errors import ModelLoadError
from ovtriton.backend.prepare import prepare_model, read_model
from ovtriton.backend.tensors import TensorSpec, describe
from ovtriton.backend.settings import BackendSettings
from tests.models import image_model, save, scale_model


def test_describe_reports_names_types_and_dynamic_dims() -> None:
    model = scale_model((-1, 4), np.int16)
    assert describe(model.inputs) == [TensorSpec("INPUT/x:0", "TYPE_INT16", (-1, 4))]
    assert describe(model.outputs) == [TensorSpec("out.y", "TYPE_INT16", (-1, 4))]


def test_prepare_model_makes_batch_dimension_dynamic_up_to_max_batch_size() -> None:
    model = prepare_model(scale_model((1, 4)), BackendSettings(), max_batch_size=8)
    dim = model.inputs[0].get_partial_shape()[0]
    assert (dim.get_min_length(), dim.get_max_length()) == (1, 8)


def test_prepare_model_refuses_batching_a_scalar_input() -> None:
    with pytest.raises(ModelLoadError, match="has no batch dimension"):
        prepare_model(scale_model(()), BackendSettings(), max_batch_size=4)


def test_prepare_model_applies_reshape() -> None:
    settings = BackendSettings(reshape={"INPUT/x:0": [2, "1:5"]})
    model = prepare_model(scale_model((-1, -1)), settings, max_batch_size=0)
    assert str(model.inputs[0].get_partial_shape()) == "[2,1..5]"


def test_prepare_model_names_unknown_reshape_input() -> None:
    with pytest.raises(ModelLoadError, match=r"RESHAPE names input\(s\) \['nope'\]"):
        prepare_model(scale_model(), BackendSettings(reshape={"nope": [1]}), 0)


def test_prepare_model_reports_impossible_reshape() -> None:
    with pytest.raises(ModelLoadError, match="parameter RESHAPE: the model cannot take shapes"):
        prepare_model(image_model(), BackendSettings(reshape={"image": [1, 3, 4]}), 0)


def test_prepare_model_transposes_nhwc_requests_for_an_nchw_model() -> None:
    settings = BackendSettings(layout={"image": "NHWC:NCHW"})
    model = prepare_model(image_model(), settings, max_batch_size=0)
    assert list(model.inputs[0].get_shape()) == [1, 4, 4, 3]
    nchw = np.arange(48, dtype=np.float32).reshape(1, 3, 4, 4)
    result = ov.Core().compile_model(model, "CPU")(nchw.transpose(0, 2, 3, 1))[0]
    np.testing.assert_allclose(result, nchw.mean(axis=(2, 3)), rtol=1e-6)


def test_prepare_model_reads_reshape_in_the_request_layout_as_ovms_does() -> None:
    """OVMS applies the layout first: RESHAPE [1,2,4,3] with NHWC:NCHW takes NHWC [1,2,4,3]."""
    settings = BackendSettings(layout={"image": "NHWC:NCHW"}, reshape={"image": [1, 2, 4, 3]})
    model = prepare_model(image_model(), settings, max_batch_size=0)
    assert list(model.inputs[0].get_shape()) == [1, 2, 4, 3]
    nhwc = np.arange(24, dtype=np.float32).reshape(1, 2, 4, 3)
    original = image_model()  # NCHW, reshaped to what NHWC [1,2,4,3] is in its layout
    original.reshape({"image": [1, 3, 2, 4]})
    expected = ov.Core().compile_model(original, "CPU")(nhwc.transpose(0, 3, 1, 2))[0]
    result = ov.Core().compile_model(model, "CPU")(nhwc)[0]
    np.testing.assert_allclose(result, expected, rtol=1e-6)
    np.testing.assert_allclose(result, nhwc.mean(axis=(1, 2)), rtol=1e-6)


def test_prepare_model_reports_reshape_that_does_not_fit_the_request_layout() -> None:
    settings = BackendSettings(layout={"image": "NHWC:NCHW"}, reshape={"image": [1, 3, 4]})
    with pytest.raises(ModelLoadError, match="parameter RESHAPE: the model cannot take shapes"):
        prepare_model(image_model(), settings, 0)


def test_prepare_model_names_unknown_layout_tensor() -> None:
    with pytest.raises(ModelLoadError, match="LAYOUT names tensor 'x'"):
        prepare_model(image_model(), BackendSettings(layout={"x": "NCHW"}), 0)


def test_prepare_model_renames_tensors_from_mapping() -> None:
    model = prepare_model(scale_model(), BackendSettings(), 0, ({"INPUT/x:0": "x"}, {"out.y": "y"}))
    assert [d.name for d in describe(model.inputs + model.outputs)] == ["x", "y"]


def test_prepare_model_names_mapping_of_missing_tensor() -> None:
    with pytest.raises(ModelLoadError, match=r"renames input\(s\) \['ghost'\]"):
        prepare_model(scale_model(), BackendSettings(), 0, ({"ghost": "g"}, {}))


def scalar_model() -> ov.Model:
    """y = x + v (x a scalar, v [3]), s = x * 2 (a scalar)."""
    x = ops.parameter([], np.float32, name="x")
    v = ops.parameter([3], np.float32, name="v")
    x.output(0).get_tensor().set_names({"x"})
    v.output(0).get_tensor().set_names({"v"})
    y = ops.add(v, x)
    s = ops.multiply(x, ops.constant(np.float32(2)))
    y.output(0).get_tensor().set_names({"y"})
    s.output(0).get_tensor().set_names({"s"})
    return ov.Model([y, s], [x, v], "scalars")


def test_prepare_model_carries_scalars_as_one_element_vectors() -> None:
    """Triton 2.51 has no 0-d tensors: [1] around the model, the model computes on a scalar."""
    model = prepare_model(scalar_model(), BackendSettings(), 0)
    assert describe(model.inputs) == [
        TensorSpec("x", "TYPE_FP32", (1,)),
        TensorSpec("v", "TYPE_FP32", (3,)),
    ]
    assert describe(model.outputs) == [
        TensorSpec("y", "TYPE_FP32", (3,)),
        TensorSpec("s", "TYPE_FP32", (1,)),
    ]
    v = np.array([1.0, 2.0, 3.0], np.float32)
    result = ov.Core().compile_model(model, "CPU")({"x": np.array([0.5], np.float32), "v": v})
    by_name = {port.get_any_name(): value for port, value in result.items()}
    np.testing.assert_array_equal(by_name["y"], v + 0.5)
    np.testing.assert_array_equal(by_name["s"], [1.0])


def test_prepare_model_leaves_a_model_without_scalars_as_it_is() -> None:
    model = scale_model((2, 4))
    assert prepare_model(model, BackendSettings(), 0) is model


def test_read_model_names_the_corrupt_file(tmp_path: Path) -> None:
    path = save(scale_model(), tmp_path)
    path.write_text("<net>not a model")
    with pytest.raises(ModelLoadError, match=f"cannot read model file {path}"):
        read_model(ov.Core(), path)
