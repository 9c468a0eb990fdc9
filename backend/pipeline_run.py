"""Run pipeline requests through their DAG: every node starts as soon as its inputs are ready.

All requests of one ``execute`` are in flight together; each node of each request is started
asynchronously by the thread that called ``run``, and OpenVINO's completion callbacks hand the
finished calls back through one queue. Intermediate tensors are never copied: a node reads its
producers' output memory in place, which stays held until the whole request is answered. Only
the response's tensors are copied out before that memory goes back to the pools.

Demultiplexing (OVMS's ``demultiply_count``) splits a node's outputs into sub-requests
(*branches*, see ``demultiplex.py``): the nodes after it run once per branch, all branches in
flight together; a ``gather_from_node`` node starts once every branch of its demultiplexer has
reached it, and the response gathers the demultiplexers still open.

With ``one_at_a_time`` (a schedule that gives every node all the cores, ``schedule.py``) the
nodes of one request run one after another instead: a ready node waits until the request's
node in flight has finished. Requests of one ``execute`` still overlap.
"""

from __future__ import annotations

import logging
import queue
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional, Sequence, Union

import numpy as np

from .errors import BackendError, RequestError, detached
from .limits import RequestLimits
from .pipeline_nodes import Call, Node
from .custom_node_executor import CustomNodeExecutor
from .demultiplex import Branch, Level, demultiply, gather, gather_all
from .pipeline_spec import REQUEST, NodeSpec, PipelineSpec

LOGGER = logging.getLogger(__name__)

Outputs = dict[str, np.ndarray]
Result = Union[Outputs, BackendError]
Tensors = Mapping[str, np.ndarray]
Timing = Callable[[str, float, float], None]  # node, start, end (time.perf_counter seconds)

_POLL_SECONDS = 1.0  # how often to look for a call that ended without its callback


@dataclass
class _Job:
    """One pipeline request on its way through the DAG."""

    index: int
    values: dict[tuple[Branch, str, str], np.ndarray]  # (branch, node or "request", alias)
    waiting: dict[tuple[str, Branch], int] = field(default_factory=dict)  # (node, branch)
    shards: dict[tuple[str, Branch], int] = field(default_factory=dict)  # demultiplexer counts
    calls: list[Call] = field(default_factory=list)
    pending: list[tuple[str, Branch]] = field(default_factory=list)  # one_at_a_time: to start
    running: int = 0  # calls started asynchronously and not finished yet
    error: Optional[BackendError] = None


class PipelineRunner:
    """The DAG of one pipeline model, ready to run requests; ``run`` is not reentrant."""

    def __init__(
        self,
        spec: PipelineSpec,
        nodes: Mapping[str, Node],
        limits: RequestLimits = RequestLimits(),
        on_timing: Optional[Timing] = None,
        executor: Optional[CustomNodeExecutor] = None,
        one_at_a_time: bool = False,
    ) -> None:
        self.spec = spec
        self.one_at_a_time = one_at_a_time
        self.executor = executor  # the custom nodes' worker threads, stopped by close()
        self.nodes = nodes
        self.limits = limits
        self.on_timing = on_timing
        # the last run's (job, node, start, end); node is "name[i,j]" inside demultiplexed branches
        self.timings: list[tuple[int, str, float, float]] = []
        self._node_specs = {node.name: node for node in spec.nodes}
        self._readers = {
            node.name: [n.name for n in spec.nodes if node.name in n.sources()]
            for node in spec.nodes
        }
        self._roots = [n.name for n in spec.nodes if not n.sources()]
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
        owner: dict[int, tuple[_Job, Branch]] = {}  # id(call) -> job, branch
        for index, tensors in enumerate(requests):
            try:
                self._check(tensors)
                branches = self._entry(tensors)
            except BackendError as exc:
                results[index] = detached(exc)
                continue
            except ValueError as exc:  # e.g. string tensors, which cannot be demultiplexed
                results[index] = RequestError(f"pipeline entry: {exc}")
                continue
            job = _Job(index, {(b, REQUEST, k): v for b, ts in branches for k, v in ts.items()})
            if self.spec.demultiply is not None:
                job.shards[(REQUEST, ())] = len(branches)
            jobs[index] = job
            ready = [(name, b) for name in self._roots for b in self._root_branches(name, branches)]
            self._start_ready(job, ready, owner)
        checked = time.perf_counter()
        while self._in_flight:
            try:
                call = self._done.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                call = None
            if call is not None and id(call) in owner:  # else already handled as stuck
                self._ended(call, owner)
            now = time.perf_counter()
            if call is not None and now - checked < _POLL_SECONDS:
                continue
            checked = now
            # Calls over without their callback, or past their custom node's deadline.
            stuck = [
                c
                for j in jobs.values()
                for c in j.calls
                if id(c) in owner and (c.finished_without_notice() or _overdue(c, now))
            ]
            for call in stuck:
                self._ended(call, owner)
        for index, job in jobs.items():
            requested = wanted[index] if index < len(wanted) else None
            results[index] = job.error or self._response(job, requested)
            for call in job.calls:
                call.release()
        return results

    @property
    def hung(self) -> list[str]:
        """Custom nodes whose execution outlived its deadline (its worker is still stuck)."""
        return [name for name, node in self.nodes.items() if getattr(node, "hung", False)]

    def _ended(self, call: Call, owner: dict[int, tuple[_Job, Branch]]) -> None:
        """An asynchronous call has finished: hand its outputs on."""
        job, branch = owner.pop(id(call))
        self._in_flight -= 1
        job.running -= 1
        self._finish(job, branch, call, owner)

    def close(self) -> None:
        """Deinitialize the nodes that hold a library (custom nodes)."""
        for node in self.nodes.values():
            close = getattr(node, "close", None)
            if close is not None:
                close()
        if self.executor is not None:
            self.executor.close(wait=not self.hung)

    def _check(self, tensors: Mapping[str, np.ndarray]) -> None:
        missing = sorted(set(self.spec.inputs) - set(tensors))
        extra = sorted(set(tensors) - set(self.spec.inputs))
        if missing or extra:
            raise RequestError(
                f"missing input(s) {missing}, unexpected input(s) {extra}; the pipeline takes "
                f"{sorted(self.spec.inputs)}"
            )
        self.limits.check(tensors)

    def _entry(self, tensors: Mapping[str, np.ndarray]) -> list[tuple[Branch, Tensors]]:
        """The request's branches: one, or one per shard of the entry's demultiplexing."""
        if self.spec.demultiply is None or not tensors:
            return [((), tensors)]
        return list(demultiply(REQUEST, tensors, self.spec.demultiply))

    def _root_branches(self, name: str, branches: list[tuple[Branch, Tensors]]) -> list[Branch]:
        """Where a node reading only the request runs: every request branch, or gathered."""
        return [()] if self._node_specs[name].gather else [b for b, _ in branches]

    def _start_ready(
        self, job: _Job, ready: list[tuple[str, Branch]], owner: dict[int, tuple[_Job, Branch]]
    ) -> None:
        if self.one_at_a_time:
            job.pending.extend(ready)
            if job.running or not job.pending:
                return  # the node in flight starts the next one when it ends
            ready = [job.pending.pop(0)]
        # One node to run and nothing in flight: run it in this thread, so a chain (or a
        # one-model pipeline) pays no hand-off to OpenVINO's threads and back.
        alone = len(ready) == 1 and self._in_flight == 0
        for name, branch in ready:
            if job.error is not None:
                return
            try:
                inputs = self._inputs(job, self._node_specs[name], branch)
                if alone:
                    call = self.nodes[name].run(inputs)
                else:
                    call = self.nodes[name].start(inputs, self._done.put)
            except BackendError as exc:
                job.error = detached(exc)
                return
            job.calls.append(call)
            if alone:
                self._finish(job, branch, call, owner)
            else:
                owner[id(call)] = (job, branch)
                self._in_flight += 1
                job.running += 1

    def _inputs(self, job: _Job, spec: NodeSpec, branch: Branch) -> Tensors:
        if spec.gather is None:
            return {key: job.values[(branch, *source)] for key, source in spec.inputs.items()}
        count = job.shards[(spec.gather, branch)]
        shards = []
        for i in range(count):
            inner = branch + (Level(spec.gather, i, count),)
            shards.append(
                (inner, {key: job.values[(inner, *source)] for key, source in spec.inputs.items()})
            )
        ((_, joined),) = gather(shards, [spec.gather])
        return joined

    def _finish(
        self, job: _Job, branch: Branch, call: Call, owner: dict[int, tuple[_Job, Branch]]
    ) -> None:
        label = call.node + (
            f"[{','.join(str(level.index) for level in branch)}]" if branch else ""
        )
        self.timings.append((job.index, label, call.started, call.finished))
        if self.on_timing is not None:
            self.on_timing(call.node, call.started, call.finished)
        if job.error is not None:
            return
        spec = self._node_specs[call.node]
        try:
            produced = call.outputs()
            aliased = {alias: produced[item] for alias, item in spec.outputs.items()}
            if spec.demultiply is None:
                outputs = [(branch, aliased)]
            else:
                outputs = demultiply(spec.name, aliased, spec.demultiply, branch)
                job.shards[(spec.name, branch)] = len(outputs)
        except BackendError as exc:
            job.error = detached(exc)
            return
        except ValueError as exc:  # e.g. nothing or strings to demultiply
            job.error = BackendError(f"node {spec.name!r}: {exc}")
            return
        ready = []
        for out_branch, tensors in outputs:
            for alias, value in tensors.items():
                job.values[(out_branch, spec.name, alias)] = value
            for reader in self._readers[spec.name]:
                ready.extend(self._arrived(job, self._node_specs[reader], out_branch))
        self._start_ready(job, ready, owner)

    def _arrived(self, job: _Job, reader: NodeSpec, out_branch: Branch) -> list[tuple[str, Branch]]:
        """One source of ``reader`` delivered on ``out_branch``: is ``reader`` ready now?"""
        branch = out_branch[:-1] if reader.gather is not None else out_branch
        key = (reader.name, branch)
        if key not in job.waiting:
            count = job.shards[(reader.gather, branch)] if reader.gather is not None else 1
            job.waiting[key] = len(reader.sources()) * count
        job.waiting[key] -= 1
        return [key] if job.waiting[key] == 0 else []

    def _response(self, job: _Job, requested: Optional[Sequence[str]]) -> Result:
        names = list(requested) if requested else list(self.spec.outputs)
        unknown = [name for name in names if name not in self.spec.outputs]
        if unknown:
            return RequestError(
                f"requested output(s) {unknown} do not exist; the pipeline has "
                f"{sorted(self.spec.outputs)}"
            )
        per_branch: dict[Branch, dict[str, np.ndarray]] = {}
        for (branch, node, alias), value in job.values.items():
            for name in names:
                if self.spec.outputs[name] == (node, alias):
                    per_branch.setdefault(branch, {})[name] = value
        try:
            out = gather_all(list(per_branch.items()))
        except BackendError as exc:
            return exc
        # A node's output lives in its infer request, reused once released: copy it.
        return {
            name: value if self.spec.outputs[name][0] == REQUEST else np.array(value, copy=True)
            for name, value in out.items()
        }


def _overdue(call: Call, now: float) -> bool:
    overdue = getattr(call, "overdue", None)  # custom node calls have a deadline
    return bool(overdue is not None and overdue(now))
