import numpy as np
import openvino as ov
import pytest
from ovtriton.backend.engine import Engine
from ovtriton.backend.errors import RequestError
from ovtriton.backend.limits import RequestLimits
from ovtriton.backend.prepare import prepare_model
from ovtriton.backend.settings import BackendSettings
from ovtriton.backend.signature import Signature

from tests.models import scale_model, two_input_model


def test_limits_refuse_a_request_above_max_input_bytes_naming_the_largest_input() -> None:
    limits = RequestLimits(max_input_bytes=48)
    limits.check({"a": np.ones((1, 6), np.float32), "b": np.ones((1, 6), np.float32)})  # 48: fits
    with pytest.raises(RequestError) as info:
        limits.check({"a": np.ones((1, 6), np.float32), "b": np.ones((1, 7), np.float32)})
    assert "request inputs total 52 bytes (largest: input 'b', 28 bytes)" in str(info.value)
    assert "MAX_INPUT_BYTES=48" in str(info.value)


def test_limits_accept_any_size_when_max_input_bytes_is_zero() -> None:
    RequestLimits().check({"a": np.ones((1024, 1024), np.float32)})


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize(
    ("value", "kind"), [(np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")]
)
def test_limits_refuse_non_finite_floats_naming_input_and_index(
    dtype: type, value: float, kind: str
) -> None:
    x = np.ones((2, 3), dtype)
    x[1, 2] = value
    with pytest.raises(RequestError) as info:
        RequestLimits().check({"x": x})
    text = str(info.value)
    assert f"input 'x': contains {kind} (1 of 6 values, first at index [1, 2])" in text
    assert "ALLOW_NON_FINITE" in text


def test_limits_name_both_nan_and_infinity() -> None:
    x = np.array([np.nan, np.inf, 1.0], np.float32)
    with pytest.raises(RequestError, match=r"contains NaN and infinity \(2 of 3 values"):
        RequestLimits().check({"x": x})


def test_limits_let_non_finite_floats_through_when_allowed_and_ignore_integers() -> None:
    RequestLimits(allow_non_finite=True).check({"x": np.array([np.nan, np.inf], np.float32)})
    RequestLimits().check({"i": np.array([-1, 0, 1], np.int64), "b": np.array([True])})


def engine_for(model: ov.Model, max_batch_size: int, limits: RequestLimits) -> Engine:
    model = prepare_model(model, BackendSettings(), max_batch_size)
    compiled = ov.Core().compile_model(model, "CPU", {"PERFORMANCE_HINT": "LATENCY"})
    return Engine(compiled, Signature.of(model, max_batch_size), 2, limits)


def test_engine_answers_limit_violations_alone_and_runs_the_rest() -> None:
    engine = engine_for(scale_model((-1, 4)), 8, RequestLimits(max_input_bytes=64))
    good = {"INPUT/x:0": np.ones((2, 4), np.float32)}
    nan = {"INPUT/x:0": np.array([[1, np.nan, 1, 1]], np.float32)}
    big = {"INPUT/x:0": np.ones((3, 4), np.float32)}  # 48 bytes: fits; 5 rows do not
    huge = {"INPUT/x:0": np.ones((5, 4), np.float32)}
    results = engine.run([good, nan, big, huge, good])
    assert "contains NaN" in str(results[1])
    assert "MAX_INPUT_BYTES=64" in str(results[3])
    for i in (0, 2, 4):
        np.testing.assert_allclose(
            results[i]["out.y"], 2 * [good, nan, big, huge, good][i]["INPUT/x:0"]
        )


@pytest.mark.parametrize("shape", [(0, 3), (1, 0), (0, 0)])
def test_signature_refuses_an_empty_tensor(shape: tuple[int, int]) -> None:
    model = prepare_model(two_input_model(), BackendSettings(), 0)
    ones = np.ones((1, 3), np.float32)
    with pytest.raises(RequestError) as info:
        Signature.of(model, 0).check_request({"a": ones, "b": np.ones(shape, np.float32)})
    shown = ",".join(map(str, shape))
    assert f"input 'b': empty tensor (shape [{shown}]); every dimension must be at least 1" in str(
        info.value
    )
