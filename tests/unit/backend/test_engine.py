import numpy as np
import openvino as ov
import pytest

from ovtriton.backend.engine import Engine
from ovtriton.backend.errors import ModelLoadError, RequestError
from ovtriton.backend.prepare import prepare_model
from ovtriton.backend.settings import BackendSettings
from ovtriton.backend.signature import Signature
from tests.models import two_input_model, scale_model


def engine_for(model: ov.Model, max_batch_size: int, nireq: int = 2) -> Engine:
    model = prepare_model(model, BackendSettings(), max_batch_size)
    compiled = ov.Core().compile_model(model, "CPU", {"PERFORMANCE_HINT": "LATENCY"})
    return Engine(compiled, Signature.of(model, max_batch_size), nireq)


def test_engine_joins_compatible_requests_into_one_inference() -> None:
    engine = engine_for(two_input_model(), max_batch_size=8)
    rng = np.random.default_rng(0)
    requests = [
        {"a": rng.random((n, 3), np.float32), "b": rng.random((n, 3), np.float32)}
        for n in (1, 3, 2)
    ]
    results = engine.run(requests)
    assert engine.inferences == 1
    for tensors, result in zip(requests, results):
        np.testing.assert_allclose(result["sum"], tensors["a"] + tensors["b"], rtol=1e-6)
        np.testing.assert_allclose(result["prod"], tensors["a"] * tensors["b"], rtol=1e-6)


def test_engine_groups_requests_by_shape_when_dims_are_dynamic() -> None:
    engine = engine_for(scale_model((-1, -1)), max_batch_size=4)
    requests = [{"INPUT/x:0": np.ones((1, n), np.float32)} for n in (2, 5, 2)]
    results = engine.run(requests)
    assert engine.inferences == 2
    assert [r["out.y"].shape for r in results] == [(1, 2), (1, 5), (1, 2)]


def test_engine_runs_each_request_alone_without_batching() -> None:
    engine = engine_for(scale_model((2, 4)), max_batch_size=0)
    results = engine.run([{"INPUT/x:0": np.full((2, 4), v, np.float32)} for v in (1, 2, 3)])
    assert engine.inferences == 3
    assert [float(r["out.y"][0, 0]) for r in results] == [2.0, 4.0, 6.0]


def test_engine_answers_bad_request_alone_and_runs_the_others() -> None:
    engine = engine_for(two_input_model(), max_batch_size=8)
    good = {"a": np.ones((1, 3), np.float32), "b": np.ones((1, 3), np.float32)}
    bad = [
        ({"a": good["a"]}, "missing input(s) 'b'"),
        ({**good, "c": good["a"]}, "unexpected input(s) 'c'"),
        (
            {"a": good["a"], "b": np.ones((1, 3), np.int32)},
            "input 'b': expected data type FP32, got INT32",
        ),
        (
            {"a": good["a"], "b": np.ones((1, 4), np.float32)},
            "input 'b': expected shape [1:8,3], got [1,4]",
        ),
        (
            {"a": good["a"], "b": np.ones((3,), np.float32)},
            "input 'b': expected shape [1:8,3], got [3]",
        ),
        ({"a": good["a"], "b": np.ones((2, 3), np.float32)}, "input 'b': batch size 2 differs"),
    ]
    results = engine.run([good] + [t for t, _ in bad] + [good])
    assert isinstance(results[0], dict) and isinstance(results[-1], dict)
    for (_, expected), result in zip(bad, results[1:-1]):
        assert isinstance(result, RequestError)
        assert expected in str(result)


def test_engine_returns_only_requested_outputs() -> None:
    engine = engine_for(two_input_model(), max_batch_size=8)
    t = {"a": np.ones((1, 3), np.float32), "b": np.ones((1, 3), np.float32)}
    assert list(engine.run([t], [["prod"]])[0]) == ["prod"]
    assert isinstance(engine.run([t], [["nope"]])[0], RequestError)


@pytest.mark.parametrize(
    "dtype",
    [
        np.float16,
        np.float32,
        np.float64,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
    ],
)
def test_engine_carries_every_numeric_dtype(dtype: type) -> None:
    engine = engine_for(scale_model((-1, 4), dtype), max_batch_size=2)
    x = np.arange(8).reshape(2, 4).astype(dtype)
    result = engine.run([{"INPUT/x:0": x}])[0]["out.y"]
    assert result.dtype == dtype
    np.testing.assert_array_equal(result, x * dtype(2))


def test_engine_carries_bool() -> None:
    from openvino import opset13 as ops

    x = ops.parameter([-1, 2], np.bool_, name="x")
    y = ops.logical_not(x)
    y.output(0).get_tensor().set_names({"y"})
    engine = engine_for(ov.Model([y], [x]), max_batch_size=2)
    out = engine.run([{"x": np.array([[True, False]])}])[0]["y"]
    np.testing.assert_array_equal(out, [[False, True]])


def test_signature_check_config_lists_every_mismatch() -> None:
    model = prepare_model(two_input_model(), BackendSettings(), 4)
    config = {
        "max_batch_size": 4,
        "input": [
            {"name": "a", "data_type": "TYPE_FP16", "dims": [3]},
            {"name": "z", "data_type": "TYPE_FP32", "dims": [3]},
        ],
        "output": [{"name": "sum", "data_type": "TYPE_FP32", "dims": [3, 1]}],
    }
    with pytest.raises(ModelLoadError) as info:
        Signature.of(model, 4).check_config(config)
    text = str(info.value)
    assert "config input 'a' has data_type TYPE_FP16, the model TYPE_FP32" in text
    assert "config input 'z' is not a model input" in text
    assert "config output 'sum' has dims [3,1] after the batch dimension" in text
    assert "model input 'b' (FP32 [1:4,3]) is not declared in config.pbtxt" in text


def test_engine_shares_a_batch_between_streams_in_throughput_mode() -> None:
    model = prepare_model(scale_model((1, 4)), BackendSettings(), 8)
    compiled = ov.Core().compile_model(
        model, "CPU", {"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": "2"}
    )
    engine = Engine(compiled, Signature.of(model, 8), nireq=2)
    rows = [{"INPUT/x:0": np.full((1, 4), i, np.float32)} for i in range(5)]
    results = engine.run(rows)
    assert (engine.streams, engine.inferences) == (2, 2)
    for i, result in enumerate(results):
        np.testing.assert_allclose(result["out.y"], np.full((1, 4), 2 * i))


def test_engine_reports_a_failed_inference_and_still_answers_the_rest() -> None:
    # a + b with both dims dynamic: [1,2] + [1,3] passes the signature but cannot be computed.
    from openvino import opset13 as ops

    a = ops.parameter([-1, -1], np.float32, name="a")
    b = ops.parameter([-1, -1], np.float32, name="b")
    y = ops.add(a, b)
    y.output(0).get_tensor().set_names({"y"})
    engine = engine_for(ov.Model([y], [a, b]), max_batch_size=0)
    bad = {"a": np.ones((1, 2), np.float32), "b": np.ones((1, 3), np.float32)}
    good = {"a": np.ones((1, 2), np.float32), "b": np.ones((1, 2), np.float32)}
    results = engine.run([bad, good])
    assert "inference failed" in str(results[0])
    np.testing.assert_allclose(results[1]["y"], 2 * good["a"])


def test_engine_keeps_serving_after_a_failed_inference() -> None:
    from openvino import opset13 as ops

    a = ops.parameter([-1, -1], np.float32, name="a")
    b = ops.parameter([-1, -1], np.float32, name="b")
    y = ops.add(a, b)
    y.output(0).get_tensor().set_names({"y"})
    engine = engine_for(ov.Model([y], [a, b]), max_batch_size=0, nireq=1)
    bad = {"a": np.ones((1, 2), np.float32), "b": np.ones((1, 3), np.float32)}
    good = {"a": np.ones((1, 2), np.float32), "b": np.ones((1, 2), np.float32)}
    for _ in range(3):
        first, second = engine.run([bad, good])
        assert "inference failed" in str(first)
        np.testing.assert_allclose(second["y"], 2 * good["a"])
