"""Counters that survive a model reload: Triton's and the backend's, summed across stubs.

A reloaded model's counters start again at 0: Triton's own (``nv_inference_request_success``,
``…_failure``, ``nv_inference_count``: same labels, the value drops) and the backend's
(``ovtriton_requests_rejected``, the pipeline node metrics: a new ``stub_pid`` series, the old
one disappears). serve's front reads Triton's metrics (on each ``/metrics`` scrape and every
``POLL_SECONDS``), remembers every series' last value and each drop, and exposes
``<name>_across_reloads`` — the same labels minus ``stub_pid`` — which only grows while serve
runs. Counts a stub made after the last read before it was unloaded are lost (at most
``POLL_SECONDS`` of them).
"""

from __future__ import annotations

import logging
from typing import Iterable

from prometheus_client.parser import text_string_to_metric_families

LOGGER = logging.getLogger(__name__)
POLL_SECONDS = 5.0
NAMES = (
    "nv_inference_request_success",
    "nv_inference_request_failure",
    "nv_inference_count",
    "ovtriton_requests_rejected",
    "ovtriton_pipeline_node_duration_us",
    "ovtriton_pipeline_node_executions",
)
SUFFIX = "_across_reloads"
_Key = tuple[str, tuple[tuple[str, str], ...]]


class AcrossReloads:
    """Per series: the sum of the values it had before each drop, and its last value."""

    def __init__(self, names: Iterable[str] = NAMES) -> None:
        self.names = set(names)
        self._series: dict[_Key, list[float]] = {}  # key -> [before drops, last]

    def update(self, text: str) -> None:
        """Read one exposition of Triton's metrics."""
        try:
            families = list(text_string_to_metric_families(text))
        except ValueError as error:
            LOGGER.debug("Triton's metrics could not be read: %s", error)
            return
        for family in families:
            if family.name not in self.names:
                continue
            for sample in family.samples:
                key = (family.name, tuple(sorted(sample.labels.items())))
                entry = self._series.setdefault(key, [0.0, 0.0])
                if sample.value < entry[1]:  # the series restarted: a reload
                    entry[0] += entry[1]
                entry[1] = float(sample.value)

    def totals(self) -> dict[_Key, float]:
        """Per metric and labels without ``stub_pid``: everything counted since serve started."""
        totals: dict[_Key, float] = {}
        for (name, labels), (before, last) in self._series.items():
            key = (name, tuple(item for item in labels if item[0] != "stub_pid"))
            totals[key] = totals.get(key, 0.0) + before + last
        return totals

    def exposition(self) -> bytes:
        lines: list[str] = []
        for name in sorted({name for name, _ in self._series}):
            lines.append(f"# HELP {name}{SUFFIX} {name} summed across model reloads and stubs")
            lines.append(f"# TYPE {name}{SUFFIX} counter")
            for (metric, labels), value in sorted(self.totals().items()):
                if metric == name:
                    text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                    lines.append(f"{name}{SUFFIX}{{{text}}} {value:.17g}")
        return ("\n".join(lines) + "\n").encode() if lines else b""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
