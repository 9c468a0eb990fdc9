"""Mode (a), the limit: the pipeline run in this process with OpenVINO, no server.

Each model is loaded through the backend's own ``load_engine`` with the config.pbtxt the
converter wrote (or a variant of it: ``modes.variant`` changes the thread knobs, and the best
configuration is the limit), so the compiled models (device, hint, streams, threads, reshape,
layout) are the ones Triton serves. Each client thread owns one infer request per step and walks
the DAG with ``start_async``: the branches overlap as in Triton's ensemble.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov

from ovtriton.backend.engine import Engine
from ovtriton.backend.instance import load_engine

from .walker import Done, Tensors, walk
from .workload import Dag, Step

LOGGER = logging.getLogger(__name__)


class InProcessDag:
    """Compiled models of one DAG; ``session()`` gives a thread its own infer requests."""

    def __init__(
        self, dag: Dag, repository: Path, configs: Mapping[str, Mapping[str, Any]]
    ) -> None:
        self.dag = dag
        self.engines: dict[str, Engine] = {}
        for model in dag.models:
            self.engines[model] = load_engine(
                repository / model, _version(repository / model), configs[model]
            )
            LOGGER.debug("in-process %s: %d stream(s)", model, self.engines[model].streams)

    def session(self) -> InProcessSession:
        return InProcessSession(self)

    def close(self) -> None:
        self.engines.clear()


class InProcessSession:
    """One thread's infer requests: one per step, reused for every DAG it runs."""

    def __init__(self, owner: InProcessDag) -> None:
        self.dag = owner.dag
        self._requests: dict[int, ov.InferRequest] = {}
        self._ports: dict[int, tuple[dict[str, int], dict[str, int]]] = {}
        for index, step in enumerate(owner.dag.steps):
            engine = owner.engines[step.model]
            self._requests[index] = engine.compiled.create_infer_request()
            self._ports[index] = (
                {s.name: i for i, s in enumerate(engine.signature.inputs)},
                {s.name: i for i, s in enumerate(engine.signature.outputs)},
            )
        self._index = {id(step): i for i, step in enumerate(owner.dag.steps)}

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> Tensors:
        return walk(self.dag, inputs, self._launch)

    def _launch(self, step: Step, tensors: Tensors, done: Done) -> None:
        index = self._index[id(step)]
        request = self._requests[index]
        inputs, outputs = self._ports[index]
        wanted = [(name, outputs[name]) for name, _ in step.output_map]

        def finished(_: object) -> None:
            # The request's output memory is reused by its next run: copy what is kept.
            done(
                {
                    name: np.array(request.get_output_tensor(i).data, copy=True)
                    for name, i in wanted
                },
                None,
            )

        request.set_callback(finished, None)
        try:
            request.start_async(
                {inputs[name]: np.ascontiguousarray(a) for name, a in tensors.items()},
                share_inputs=True,
            )
        except Exception as exc:  # OpenVINO refused the tensors
            done(None, exc)


def _version(model_dir: Path) -> str:
    versions = sorted((int(p.name) for p in model_dir.iterdir() if p.name.isdigit()), reverse=True)
    return str(versions[0])
