import logging
import types

import numpy as np
import pytest
from ovtriton.backend.engine import Engine
from ovtriton.backend.errors import BackendError, RequestError
from ovtriton.backend.limits import RequestLimits
from ovtriton.backend.rejections import REASONS, RejectionCounter, reason_of
from ovtriton.backend.signature import Signature

import openvino as ov

from tests.models import scale_model


@pytest.fixture(scope="module")
def engine() -> Engine:
    model = scale_model((-1, 4))
    compiled = ov.Core().compile_model(model, "CPU")
    return Engine(compiled, Signature.of(model, 0), 1, RequestLimits(max_input_bytes=64))


@pytest.mark.parametrize(
    ("tensors", "wanted", "reason"),
    [
        ({"INPUT/x:0": np.ones((1, 5), np.float32)}, None, "invalid_input"),
        ({"wrong": np.ones((1, 4), np.float32)}, None, "invalid_input"),
        ({"INPUT/x:0": np.ones((5, 4), np.float32)}, None, "too_large"),  # 80 bytes > 64
        ({"INPUT/x:0": np.full((1, 4), np.inf, np.float32)}, None, "non_finite"),
        ({"INPUT/x:0": np.ones((1, 4), np.float32)}, ["nope"], "unknown_output"),
    ],
)
def test_each_check_names_its_reason(
    engine: Engine, tensors: dict, wanted: list | None, reason: str
) -> None:
    (result,) = engine.run([tensors], [wanted])
    assert isinstance(result, RequestError)
    assert reason_of(result) == reason


def test_an_error_that_is_not_the_requests_fault_is_inference_failed() -> None:
    assert reason_of(BackendError("inference failed: out of memory")) == "inference_failed"
    assert reason_of(RequestError("x", reason="made up")) == "invalid_input"
    assert len(set(REASONS)) == len(REASONS)


def test_without_metric_families_the_counter_warns_once_and_counts_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    old_backend = types.SimpleNamespace()  # a Python backend older than 23.05: no MetricFamily
    with caplog.at_level(logging.WARNING):
        counter = RejectionCounter(old_backend, "m", "1")
        counter.count(RequestError("bad"))
        counter.close()
    assert not counter.active
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "ovtriton_requests_rejected is not available" in warnings[0]


def test_a_refused_request_keeps_no_reference_to_its_arrays(engine: Engine) -> None:
    """The arrays are views of the stub's shared memory: a refused request must let them go
    at once, not when Python's cyclic GC runs (an error's traceback holds the engine's frame,
    which holds the results, which hold the error)."""
    import gc
    import sys

    array = np.ones((1, 5), np.float32)
    before = sys.getrefcount(array)
    gc.disable()
    try:
        results = engine.run([{"INPUT/x:0": array}])
        assert isinstance(results[0], RequestError) and results[0].__traceback__ is None
        assert sys.getrefcount(array) == before
    finally:
        gc.enable()


@pytest.mark.parametrize("width", [3, "nan"])  # refused by the node 'left' / by the pipeline
def test_a_refused_pipeline_request_keeps_no_reference_to_its_arrays(width: object) -> None:
    import gc
    import sys

    from tests.unit.backend.test_pipeline_run import SIZE, runner

    run = runner(limits=RequestLimits(allow_non_finite=False))
    array = (
        np.full((1, SIZE), np.nan, np.float32) if width == "nan" else np.ones((1, 3), np.float32)
    )
    before = sys.getrefcount(array)
    gc.disable()
    try:
        results = run.run([{"in": array}])
        assert isinstance(results[0], RequestError) and results[0].__traceback__ is None
        del results
        assert sys.getrefcount(array) == before
    finally:
        gc.enable()
