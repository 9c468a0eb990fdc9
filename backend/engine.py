"""Run a list of requests on one compiled model: batch what can be batched, overlap the rest.

Requests whose inputs agree on every dimension but the first are joined into one OpenVINO
inference and the outputs split back. Separate groups run at the same time on the instance's
pool of infer requests (``AsyncInferQueue``), so several OpenVINO streams stay busy.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence, Union

import numpy as np
import openvino as ov

from .errors import BackendError, RequestError
from .signature import Signature

LOGGER = logging.getLogger(__name__)

Outputs = dict[str, np.ndarray]
Result = Union[Outputs, BackendError]


@dataclass
class _Group:
    members: list[int]  # indexes into the request list
    sizes: list[int]  # batch size of each member
    outputs: Optional[dict[int, np.ndarray]] = None
    error: Optional[BackendError] = None
    inputs: dict[int, np.ndarray] = field(default_factory=dict)


class Engine:
    """One compiled model and its pool of ``nireq`` infer requests."""

    def __init__(self, compiled: ov.CompiledModel, signature: Signature, nireq: int = 0) -> None:
        if nireq <= 0:
            nireq = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self.compiled = compiled
        self.signature = signature
        self.nireq = max(1, nireq)
        self.inferences = 0  # OpenVINO inferences run so far (batching shows as fewer than requests)
        self._queue = ov.AsyncInferQueue(compiled, self.nireq)
        self._queue.set_callback(self._on_done)
        self._output_index = {p.name: p.index for p in signature.outputs}

    def run(
        self,
        requests: Sequence[Mapping[str, np.ndarray]],
        wanted: Sequence[Optional[Sequence[str]]] = (),
    ) -> list[Result]:
        """Outputs (or the error) of every request, in order."""
        results: list[Optional[Result]] = [None] * len(requests)
        groups: dict[tuple, _Group] = {}
        for i, tensors in enumerate(requests):
            try:
                batch = self.signature.check_request(tensors)
            except RequestError as exc:
                results[i] = exc
                continue
            key = self._group_key(i, tensors, batch)
            group = groups.setdefault(key, _Group([], []))
            group.members.append(i)
            group.sizes.append(batch)
        for group in groups.values():
            self._start(group, requests)
        try:
            self._queue.wait_all()
        except Exception as exc:  # a failed job surfaces here; its group has no outputs
            failure = BackendError(f"inference failed: {_first_line(exc)}")
            for group in groups.values():
                if group.outputs is None and group.error is None:
                    group.error = failure
        self.inferences += len(groups)
        for group in groups.values():
            self._finish(group, results, wanted)
        return [r if r is not None else BackendError("internal: no result") for r in results]

    def _group_key(self, index: int, tensors: Mapping[str, np.ndarray], batch: int) -> tuple:
        if self.signature.max_batch_size <= 0:
            return ("alone", index)
        # Joinable when every input agrees past dimension 0. Triton's dynamic batcher never
        # hands over more than max_batch_size rows in total, so one group always fits.
        return tuple((p.name, tensors[p.name].shape[1:]) for p in self.signature.inputs)

    def _start(self, group: _Group, requests: Sequence[Mapping[str, np.ndarray]]) -> None:
        for port in self.signature.inputs:
            parts = [np.ascontiguousarray(requests[i][port.name]) for i in group.members]
            group.inputs[port.index] = parts[0] if len(parts) == 1 else np.concatenate(parts)
        try:
            self._queue.start_async(group.inputs, group, share_inputs=True)
        except Exception as exc:  # shape/type refused by OpenVINO when setting the tensors
            group.error = RequestError(f"OpenVINO refused the input: {_first_line(exc)}")

    def _on_done(self, request: ov.InferRequest, group: _Group) -> None:
        # Runs on an OpenVINO thread; copy because the infer request is reused by the next job.
        try:
            group.outputs = {
                p.index: np.array(request.get_output_tensor(p.index).data, copy=True)
                for p in self.signature.outputs
            }
        except Exception as exc:
            group.error = BackendError(f"inference failed: {_first_line(exc)}")

    def _finish(
        self, group: _Group, results: list[Optional[Result]], wanted: Sequence[Optional[Sequence[str]]]
    ) -> None:
        group.inputs.clear()
        if group.outputs is None:
            error = group.error or BackendError("inference failed without a message")
            for i in group.members:
                results[i] = error
            return
        offsets = np.cumsum(group.sizes)[:-1]
        split = {
            index: (np.split(array, offsets) if len(group.members) > 1 else [array])
            for index, array in group.outputs.items()
        }
        for position, i in enumerate(group.members):
            names = wanted[i] if i < len(wanted) and wanted[i] else list(self._output_index)
            unknown = [n for n in names if n not in self._output_index]
            if unknown:
                results[i] = RequestError(
                    f"requested output(s) {unknown} do not exist; the model has "
                    f"{sorted(self._output_index)}"
                )
                continue
            results[i] = {name: split[self._output_index[name]][position] for name in names}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
