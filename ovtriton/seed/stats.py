"""The seed client's statistics over per-request processing times.

Same definitions as OVMS's ``example_client/client_utils.py::print_statistics``: the times are
taken in whole milliseconds (the seed client stores ``int(duration_ms)``); speed is
``1000 * batch_size / time``, so the speed shown beside a time percentile is the speed *of*
that time; standard deviation and variance are the population ones (``numpy.std``/``var``);
percentiles interpolate linearly (``numpy.percentile``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Statistics:
    """Processing-time statistics in milliseconds for requests of ``batch_size`` images."""

    batch_size: int
    count: int
    average: float
    median: float
    maximum: float
    minimum: float
    p90: float
    p50: float
    std: float
    variance: float

    @classmethod
    def of(
        cls, times_ms: Sequence[float], batch_size: int = 1, whole_ms: bool = True
    ) -> "Statistics":
        if not len(times_ms):
            raise ValueError("no processing times to summarise")
        if batch_size < 1:
            raise ValueError(f"batch size must be >= 1, got {batch_size}")
        times = np.asarray(times_ms, dtype=np.float64)
        if whole_ms:
            times = np.floor(times)
        return cls(
            batch_size=batch_size,
            count=len(times),
            average=float(np.average(times)),
            median=float(np.median(times)),
            maximum=float(np.max(times)),
            minimum=float(np.min(times)),
            p90=float(np.percentile(times, 90)),
            p50=float(np.percentile(times, 50)),
            std=float(np.std(times)),
            variance=float(np.var(times)),
        )

    def speed(self, time_ms: float) -> float:
        """Images per second at ``time_ms`` per request (inf for a 0 ms request)."""
        return 1000.0 * self.batch_size / time_ms if time_ms > 0 else float("inf")

    def lines(self) -> list[str]:
        """The seed's summary, line by line."""
        return [
            "processing time for all iterations",
            f"average time: {self.average:.2f} ms; average speed: {self.speed(self.average):.2f} fps",
            f"median time: {self.median:.2f} ms; median speed: {self.speed(self.median):.2f} fps",
            f"max time: {self.maximum:.2f} ms; min speed: {self.speed(self.maximum):.2f} fps",
            f"min time: {self.minimum:.2f} ms; max speed: {self.speed(self.minimum):.2f} fps",
            (
                f"time percentile 90: {self.p90:.2f} ms; "
                f"speed percentile 90: {self.speed(self.p90):.2f} fps"
            ),
            (
                f"time percentile 50: {self.p50:.2f} ms; "
                f"speed percentile 50: {self.speed(self.p50):.2f} fps"
            ),
            f"time standard deviation: {self.std:.2f}",
            f"time variance: {self.variance:.2f}",
        ]


def accuracy(correct: int, total: int) -> float:
    """Percentage of correct answers (0 when there was nothing to check)."""
    return 100.0 * correct / total if total else 0.0
