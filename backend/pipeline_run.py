"""Run pipeline requests through their DAG: every node starts as soon as its inputs are ready.

All requests of one ``execute`` are in flight together; each node of each request is started
asynchronously by the thread that called ``run``, and OpenVINO's completion callbacks hand the
finished calls back through one queue. Intermediate tensors are never copied: a node reads its
producers' output memory in place, which stays held until the whole request is answered. Only
the response's tensors are copied out before that memory goes back to the pools.
"""

from __future__ import annotations

import logging
import queue
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional, Sequence, Union

import numpy as np

from .errors import BackendError, RequestError, detached
from .limits import RequestLimits
from .pipeline_nodes import Call, Node
from .pipeline_spec import REQUEST, PipelineSpec

LOGGER = logging.getLogger(__name__)

Outputs = dict[str, np.ndarray]
Result = Union[Outputs, BackendError]
Timing = Callable[[str, float, float], None]  # node, start, end (time.perf_counter seconds)

_POLL_SECONDS = 1.0  # how often to look for a call that ended without its callback


@dataclass
class _Job:
    """One pipeline request on its way through the DAG."""

    index: int
    values: dict[tuple[str, str], np.ndarray]  # (node or "request", alias) -> tensor
    waiting: dict[str, int]  # node -> how many of its source nodes have not finished
    calls: list[Call] = field(default_factory=list)
    error: Optional[BackendError] = None


class PipelineRunner:
    """The DAG of one pipeline model, ready to run requests; ``run`` is not reentrant."""

    def __init__(
        self,
        spec: PipelineSpec,
        nodes: Mapping[str, Node],
        limits: RequestLimits = RequestLimits(),
        on_timing: Optional[Timing] = None,
    ) -> None:
        self.spec = spec
        self.nodes = nodes
        self.limits = limits
        self.on_timing = on_timing
        self.timings: list[tuple[int, str, float, float]] = []  # the last run's (job, node, ...)
        self._node_specs = {node.name: node for node in spec.nodes}
        self._readers = {
            node.name: [n.name for n in spec.nodes if node.name in n.sources()]
            for node in spec.nodes
        }
        self._done: queue.SimpleQueue[Call] = queue.SimpleQueue()
        self._in_flight = 0  # calls started asynchronously and not finished yet

    def run(
        self,
        requests: Sequence[Mapping[str, np.ndarray]],
        wanted: Sequence[Optional[Sequence[str]]] = (),
    ) -> list[Result]:
        """Outputs (or the error) of every request, in order."""
        self.timings = []
        results: list[Result] = [BackendError("internal: no result")] * len(requests)
        jobs: dict[int, _Job] = {}
        owner: dict[int, _Job] = {}  # id(call) -> job
        for index, tensors in enumerate(requests):
            try:
                self._check(tensors)
            except RequestError as exc:
                results[index] = detached(exc)
                continue
            waiting = {n.name: len(n.sources()) for n in self.spec.nodes}
            job = _Job(index, {(REQUEST, k): v for k, v in tensors.items()}, waiting)
            jobs[index] = job
            self._start_ready(job, [n for n, count in waiting.items() if count == 0], owner)
        while self._in_flight:
            try:
                call = self._done.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                stuck = [c for j in jobs.values() for c in j.calls if c.finished_without_notice()]
                for call in stuck:
                    self._in_flight -= 1
                    self._finish(owner.pop(id(call)), call, owner)
                continue
            if id(call) in owner:  # else a call already handled as stuck
                self._in_flight -= 1
                self._finish(owner.pop(id(call)), call, owner)
        for index, job in jobs.items():
            requested = wanted[index] if index < len(wanted) else None
            results[index] = job.error or self._response(job, requested)
            for call in job.calls:
                call.release()
        return results

    def _check(self, tensors: Mapping[str, np.ndarray]) -> None:
        missing = sorted(set(self.spec.inputs) - set(tensors))
        extra = sorted(set(tensors) - set(self.spec.inputs))
        if missing or extra:
            raise RequestError(
                f"missing input(s) {missing}, unexpected input(s) {extra}; the pipeline takes "
                f"{sorted(self.spec.inputs)}"
            )
        self.limits.check(tensors)

    def _start_ready(self, job: _Job, ready: list[str], owner: dict[int, _Job]) -> None:
        # One node to run and nothing in flight: run it in this thread, so a chain (or a
        # one-model pipeline) pays no hand-off to OpenVINO's threads and back.
        alone = len(ready) == 1 and self._in_flight == 0
        for name in ready:
            if job.error is not None:
                return
            spec = self._node_specs[name]
            inputs = {key: job.values[source] for key, source in spec.inputs.items()}
            try:
                if alone:
                    call = self.nodes[name].run(inputs)
                else:
                    call = self.nodes[name].start(inputs, self._done.put)
            except BackendError as exc:
                job.error = detached(exc)
                return
            job.calls.append(call)
            if alone:
                self._finish(job, call, owner)
            else:
                owner[id(call)] = job
                self._in_flight += 1

    def _finish(self, job: _Job, call: Call, owner: dict[int, _Job]) -> None:
        self.timings.append((job.index, call.node, call.started, call.finished))
        if self.on_timing is not None:
            self.on_timing(call.node, call.started, call.finished)
        if job.error is not None:
            return
        try:
            produced = call.outputs()
        except BackendError as exc:
            job.error = detached(exc)
            return
        for alias, item in self._node_specs[call.node].outputs.items():
            job.values[(call.node, alias)] = produced[item]
        ready = []
        for reader in self._readers[call.node]:
            job.waiting[reader] -= 1
            if job.waiting[reader] == 0:
                ready.append(reader)
        self._start_ready(job, ready, owner)

    def _response(self, job: _Job, requested: Optional[Sequence[str]]) -> Result:
        names = list(requested) if requested else list(self.spec.outputs)
        unknown = [name for name in names if name not in self.spec.outputs]
        if unknown:
            return RequestError(
                f"requested output(s) {unknown} do not exist; the pipeline has "
                f"{sorted(self.spec.outputs)}"
            )
        out = {}
        for name in names:
            source = self.spec.outputs[name]
            value = job.values[source]
            # A node's output lives in its infer request, reused once released: copy it.
            out[name] = value if source[0] == REQUEST else np.array(value, copy=True)
        return out
