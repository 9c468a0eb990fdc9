"""Walk a pipeline's DAG the way Triton's ensemble scheduler does, with any way to run a step.

The calling thread starts every step whose inputs are ready, then sleeps until some step
finishes, and repeats. Steps run asynchronously (OpenVINO ``start_async`` in process, the Triton
client's ``async_infer`` over the network), so independent branches overlap.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Callable, Optional

import numpy as np

from .workload import Dag, Step

Tensors = dict[str, np.ndarray]
Done = Callable[[Optional[Tensors], Optional[BaseException]], None]
# launch(step, model inputs by model input name, done): must call done exactly once.
Launch = Callable[[Step, Tensors, Done], None]


class StepFailed(RuntimeError):
    """A step of the DAG failed; the message names the model."""


def walk(dag: Dag, inputs: Mapping[str, np.ndarray], launch: Launch) -> Tensors:
    """Run ``dag`` on ``inputs``; returns the pipeline outputs by name."""
    tensors: Tensors = dict(inputs)
    pending = list(dag.steps)
    finished: list[tuple[Step, Optional[Tensors], Optional[BaseException]]] = []
    ready = threading.Condition()
    running = 0

    def done_for(step: Step) -> Done:
        def done(outputs: Optional[Tensors], error: Optional[BaseException]) -> None:
            with ready:
                finished.append((step, outputs, error))
                ready.notify()

        return done

    while pending or running:
        startable = [s for s in pending if all(t in tensors for _, t in s.input_map)]
        if not startable and not running:
            raise StepFailed(f"steps {[s.model for s in pending]} never get their inputs")
        for step in startable:
            pending.remove(step)
            running += 1
            launch(step, {name: tensors[wire] for name, wire in step.input_map}, done_for(step))
        with ready:
            while not finished:
                ready.wait()
            batch, finished[:] = list(finished), []
        for step, outputs, error in batch:
            running -= 1
            if error is not None or outputs is None:
                raise StepFailed(f"model {step.model!r}: {error}")
            for name, wire in step.output_map:
                tensors[wire] = outputs[name]
    return {t.name: tensors[t.name] for t in dag.outputs}
