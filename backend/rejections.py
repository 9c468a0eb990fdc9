"""Count the requests the backend answers with an error: Triton 2.51 counts them as successes.

The Python backend reports a request's statistics as failed only when ``execute`` raises (and
then every request of the batch gets the same INTERNAL error); a request answered with its own
error response is counted in ``nv_inference_request_success`` and the model's statistics show
``fail: 0`` (python_backend r24.10: ``TRITONBACKEND_ModelInstanceExecute`` builds its
``PbMetricReporter`` without responses, so ``success`` is false only when ``ProcessRequests``
returned an error). The backend therefore counts its own error responses::

    ovtriton_requests_rejected{model, version, reason, stub_pid}

``stub_pid`` keeps each stub's counters apart: two Triton metric objects holding the same
labels would share one Prometheus counter, and the first one deleted (an instance unloaded
while its successor already serves) would free it under the other. Sum over it:
``sum by (model, version, reason) (ovtriton_requests_rejected)``.

Counting never fails a request: without metrics (``--allow-metrics=false``, a Python backend
without ``MetricFamily``) the counter logs one warning and counts nothing.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from .errors import BackendError, RequestError

LOGGER = logging.getLogger(__name__)

METRIC = "ovtriton_requests_rejected"
DESCRIPTION = (
    "Requests the openvino_py backend answered with an error (Triton 2.51 counts them in "
    "nv_inference_request_success); reason: the check that refused the request"
)
# invalid_input: names, types or shapes (also OpenVINO refusing the tensors); too_large:
# MAX_INPUT_BYTES; non_finite: NaN/infinity without ALLOW_NON_FINITE; unknown_output: a
# requested output the model lacks; inference_failed: OpenVINO failed to run (INTERNAL).
REASONS = ("invalid_input", "too_large", "non_finite", "unknown_output", "inference_failed")


def reason_of(error: BackendError) -> str:
    """The ``reason`` label of an error response."""
    if isinstance(error, RequestError):
        return error.reason if error.reason in REASONS else "invalid_input"
    return "inference_failed"


class RejectionCounter:
    """One stub's counters, one per reason, created (at 0) when the model loads."""

    def __init__(self, pb_utils: Any, model: str, version: str) -> None:
        self._family: Any = None
        self._metrics: dict[str, Any] = {}
        try:
            kind = pb_utils.MetricFamily.COUNTER
            self._family = pb_utils.MetricFamily(name=METRIC, description=DESCRIPTION, kind=kind)
            labels = {"model": model, "version": str(version), "stub_pid": str(os.getpid())}
            for reason in REASONS:
                self._metrics[reason] = self._family.Metric(labels={**labels, "reason": reason})
        except Exception as exc:  # metrics disabled or unsupported: serve without counting
            LOGGER.warning(
                "model %r: metric %s is not available (%s); rejected requests are not counted "
                "(Triton 2.51 counts them as successes)",
                model,
                METRIC,
                str(exc).strip() or type(exc).__name__,
            )
            self.close()

    @property
    def active(self) -> bool:
        return bool(self._metrics)

    def count(self, error: BackendError) -> None:
        metric = self._metrics.get(reason_of(error))
        if metric is None:
            return
        try:
            metric.increment(1)
        except Exception as exc:  # never let counting fail the response
            LOGGER.warning("metric %s: cannot count a rejection (%s)", METRIC, exc)

    def close(self) -> None:
        """Delete the metrics before their family (the Python backend's required order)."""
        self._metrics.clear()
        self._family = None
