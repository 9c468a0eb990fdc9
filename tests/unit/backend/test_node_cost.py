"""Measuring a model's cost per thread count (``backend/node_cost.py``) with an injected timer."""

from __future__ import annotations

import numpy as np
import openvino as ov
import pytest
from openvino import opset13 as ops

from ovtriton.backend import node_cost


def doubler(shape: list[int]) -> ov.Model:
    x = ops.parameter(ov.PartialShape(shape), ov.Type.f32, name="x")
    return ov.Model([ops.multiply(x, ops.constant(np.float32(2)))], [x], "doubler")


def test_thread_counts_are_powers_of_two_the_cores_and_the_even_share() -> None:
    assert node_cost.thread_counts(1, 1) == [1]
    assert node_cost.thread_counts(2, 1) == [1, 2]
    assert node_cost.thread_counts(6, 3) == [1, 2, 3, 4, 6]


def test_measure_takes_the_median_of_the_timed_inferences_per_thread_count() -> None:
    core = ov.Core()
    compiled_with: list[int] = []

    def compile_with(threads: int) -> ov.CompiledModel:
        compiled_with.append(threads)
        return core.compile_model(doubler([-1, 3]), "CPU", {"INFERENCE_NUM_THREADS": threads})

    # every timed inference reads the clock twice; elapsed: 3, 1, 2, 9, 4 ms then 1, 1, 1, 1, 1
    elapsed = [3, 1, 2, 9, 4] + [1] * 5
    ticks = iter([t for i, e in enumerate(elapsed) for t in (10.0 * i, 10.0 * i + e / 1e3)])
    measured = node_cost.measure(compile_with, [1, 2], batched=True, timer=lambda: next(ticks))
    assert compiled_with == [1, 2]
    assert {t: seconds for t, (seconds, _) in measured.items()} == {
        1: pytest.approx(3e-3),
        2: pytest.approx(1e-3),
    }
    assert int(measured[2][1].get_property("INFERENCE_NUM_THREADS")) == 2


def test_zero_inputs_and_what_cannot_be_measured() -> None:
    model = doubler([-1, 3])
    [zeros] = node_cost.zero_inputs(model, batched=True)
    assert zeros.shape == (1, 3) and zeros.dtype == np.float32 and not zeros.any()
    with pytest.raises(node_cost.NotMeasurable, match="input 'x' has dynamic shape"):
        node_cost.zero_inputs(model, batched=False)
    with pytest.raises(node_cost.NotMeasurable, match="dynamic shape"):
        node_cost.zero_inputs(doubler([1, -1]), batched=True)
