"""The TFS front's own request counts and latencies, with OVMS's metric names and labels.

``ovms_requests_success`` / ``ovms_requests_fail`` (counters) and ``ovms_request_time_us``
(histogram, OVMS's buckets ``floor(10·1.8^k)`` µs) for the requests that came in through the
TFS API, labelled ``api="TensorFlowServing"``, ``interface`` gRPC/REST, ``method`` and ``name``
as OVMS labels them. Served on the REST port's ``/metrics`` after Triton's own metrics.

``ovtriton_front_requests_refused{interface, reason}`` counts every request the front
answered with an error, by reason: the guard's own (``too_deep``, ``too_large``,
``shape_exceeds_data``, ``body_too_large``, ``invalid_body``, ``busy``), Triton's refusals seen
through the front (``triton_<HTTP status>`` on ``/v2``) and the TFS API's (the gRPC code, e.g.
``invalid_argument``). The front's counters live as long as the front: a model reload does
not reset them.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from contextlib import contextmanager
from typing import Iterator

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

BUCKETS_US = [math.floor(10 * 1.8**k) for k in range(33)]
API = "TensorFlowServing"


class Outcome:
    """Whether the request being measured failed (set by the handler)."""

    def __init__(self) -> None:
        self.ok = True

    def failed(self) -> None:
        self.ok = False


class _OvmsCounters(Collector):
    """OVMS's two request counters, exposed under OVMS's names (no ``_total`` suffix)."""

    LABELS = ("api", "interface", "method", "name")

    def __init__(self) -> None:
        self.values: dict[tuple[str, tuple[str, ...]], float] = {}

    def inc(self, metric: str, labels: tuple[str, ...]) -> None:
        key = (metric, labels)
        self.values[key] = self.values.get(key, 0.0) + 1.0

    def collect(self) -> Iterator[Metric]:
        for metric, doc in (
            ("ovms_requests_success", "Number of successful requests to a model or a DAG."),
            ("ovms_requests_fail", "Number of failed requests to a model or a DAG."),
        ):
            family = Metric(metric, doc, "counter")
            for (name, labels), value in sorted(self.values.items()):
                if name == metric:
                    family.add_sample(metric, dict(zip(self.LABELS, labels)), value)
            yield family


class _Refusals(Collector):
    """``ovtriton_front_requests_refused``: one reason counter per interface."""

    def __init__(self) -> None:
        self.by_interface: dict[str, Counter] = {}

    def counter(self, interface: str) -> Counter:
        return self.by_interface.setdefault(interface, Counter())

    def collect(self) -> Iterator[Metric]:
        family = Metric(
            "ovtriton_front_requests_refused",
            "Requests the TFS front answered with an error, by interface and reason.",
            "counter",
        )
        for interface, counts in sorted(self.by_interface.items()):
            for reason, value in sorted(counts.items()):
                family.add_sample(
                    "ovtriton_front_requests_refused_total",
                    {"interface": interface, "reason": reason},
                    float(value),
                )
        yield family


class FrontMetrics:
    """Prometheus metrics of one TFS front (a registry of its own, not the global one)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.counters = _OvmsCounters()
        self.registry.register(self.counters)
        self.refusals = _Refusals()
        self.registry.register(self.refusals)
        self.time = Histogram(
            "ovms_request_time_us",
            "Processing time of requests to a model or a DAG, in microseconds (TFS front).",
            ["interface", "name"],
            buckets=BUCKETS_US,
            registry=self.registry,
        )

    @contextmanager
    def measure(self, interface: str, method: str, name: str) -> Iterator[Outcome]:
        outcome = Outcome()
        start = time.perf_counter()
        try:
            yield outcome
        except BaseException:
            outcome.failed()
            raise
        finally:
            metric = "ovms_requests_success" if outcome.ok else "ovms_requests_fail"
            self.counters.inc(metric, (API, interface, method, name))
            if method == "Predict":
                self.time.labels(interface, name).observe((time.perf_counter() - start) * 1e6)

    def refused(self, interface: str, reason: str) -> None:
        self.refusals.counter(interface)[reason] += 1

    def exposition(self) -> bytes:
        """The metrics in Prometheus's text format."""
        return bytes(generate_latest(self.registry))
