"""Measure a model's cost: median latency of a few inferences on zero input, per thread count.

Used to choose schedules (``schedule.py``) when a pipeline model loads and when the converter
writes the thread budgets of ensembles. Time is bounded: one warm-up and at most ``RUNS``
timed inferences per thread count, fewer once ``BUDGET_SECONDS`` are spent on that count. A
model whose inputs have dynamic dimensions (other than the batch, measured at 1) or string
inputs cannot be measured: ``NotMeasurable`` says why, and the caller keeps the even split.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

import numpy as np
import openvino as ov

RUNS = 5
BUDGET_SECONDS = 1.0

Timer = Callable[[], float]
Compile = Callable[[int], ov.CompiledModel]  # threads -> the model compiled with them


class NotMeasurable(Exception):
    """The model's cost cannot be measured (message: why)."""


def thread_counts(cores: int, even: int) -> list[int]:
    """The counts worth timing: powers of two up to ``cores``, ``cores`` and the even share."""
    counts = {cores, max(1, even)}
    power = 1
    while power < cores:
        counts.add(power)
        power *= 2
    return sorted(c for c in counts if 1 <= c <= cores)


def zero_inputs(model: ov.Model | ov.CompiledModel, batched: bool) -> list[np.ndarray]:
    """A zero tensor per input; a dynamic first dimension is 1 when ``batched``."""
    inputs = []
    for port in model.inputs:
        shape = port.get_partial_shape()
        dims = []
        for index, dim in enumerate(shape):
            if dim.is_static:
                dims.append(dim.get_length())
            elif index == 0 and batched:
                dims.append(1)
            else:
                raise NotMeasurable(f"input {port.get_any_name()!r} has dynamic shape {shape}")
        if port.get_element_type() == ov.Type.string:
            raise NotMeasurable(f"input {port.get_any_name()!r} holds strings")
        dtype = port.get_element_type().to_dtype()
        inputs.append(np.zeros(dims, dtype=dtype))
    return inputs


def measure(
    compile_with: Compile,
    counts: list[int],
    batched: bool,
    timer: Timer = time.perf_counter,
) -> dict[int, tuple[float, ov.CompiledModel]]:
    """threads -> (median seconds per inference, the compiled model) for every count."""
    measured: dict[int, tuple[float, ov.CompiledModel]] = {}
    for threads in counts:
        compiled = compile_with(threads)
        inputs = zero_inputs(compiled, batched)
        request = compiled.create_infer_request()
        request.infer(inputs)  # warm-up: first-run allocations are not the steady cost
        spent, times = 0.0, list[float]()
        while len(times) < RUNS and (not times or spent < BUDGET_SECONDS):
            start = timer()
            request.infer(inputs)
            elapsed = max(0.0, timer() - start)
            times.append(elapsed)
            spent += elapsed
        measured[threads] = (statistics.median(times), compiled)
    return measured
