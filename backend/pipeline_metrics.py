"""Per-node timing of a pipeline model, as Triton custom metrics on its metrics endpoint.

``ovtriton_pipeline_node_duration_us`` (total microseconds) and
``ovtriton_pipeline_node_executions`` (count), both labelled ``pipeline``, ``node`` and
``stub_pid`` (two stubs of one model — a reload, or two instances — must not share a Triton
metric object: the first one unloaded would free it under the other): their ratio is a node's
mean time, the per-step figure an ensemble's statistics would show. Each
update of a Triton metric is a message from the stub to the server, so timings are summed
here and sent at most once per ``flush_seconds``.

Triton's utilities module is passed in: only ``model.py`` imports it.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

LOGGER = logging.getLogger(__name__)

DURATION = "ovtriton_pipeline_node_duration_us"
EXECUTIONS = "ovtriton_pipeline_node_executions"


class NodeMetrics:
    def __init__(self, pb_utils: Any, pipeline: str, flush_seconds: float = 1.0) -> None:
        kind = pb_utils.MetricFamily.COUNTER
        self._families = (
            pb_utils.MetricFamily(
                name=DURATION, description="time spent in each pipeline node (us)", kind=kind
            ),
            pb_utils.MetricFamily(
                name=EXECUTIONS, description="executions of each pipeline node", kind=kind
            ),
        )
        self.pipeline = pipeline
        self.flush_seconds = flush_seconds
        self._metrics: dict[str, tuple[Any, Any]] = {}
        self._pending: dict[str, list[float]] = {}
        self._last_flush = time.perf_counter()

    def record(self, node: str, start: float, end: float) -> None:
        """One node execution (``time.perf_counter`` seconds); sends the sums when due."""
        pending = self._pending.setdefault(node, [0.0, 0])
        pending[0] += (end - start) * 1e6
        pending[1] += 1
        LOGGER.debug("pipeline %s node %s: %.3f ms", self.pipeline, node, (end - start) * 1e3)
        if end - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        self._last_flush = time.perf_counter()
        for node, (micros, count) in self._pending.items():
            if node not in self._metrics:
                labels = {"pipeline": self.pipeline, "node": node, "stub_pid": str(os.getpid())}
                self._metrics[node] = tuple(f.Metric(labels=labels) for f in self._families)
            duration, executions = self._metrics[node]
            duration.increment(micros)
            executions.increment(count)
        self._pending.clear()
