"""Run a list of requests on one compiled model: batch what can be batched, overlap the rest.

Requests whose inputs agree on every dimension but the first are joined into one OpenVINO
inference and the outputs split back. Separate groups run at the same time on the instance's
pool of infer requests (started asynchronously), so several OpenVINO streams stay busy. When the
compiled model has several streams (THROUGHPUT hint), a joined group is cut into one part per
stream, so every stream gets a share of the batch instead of one stream getting all of it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence, Union

import numpy as np
import openvino as ov

from . import dtypes
from .errors import BackendError, RequestError, detached, first_line
from .limits import RequestLimits
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
    """One compiled model and its pool of ``nireq`` infer requests.

    The pool is kept by hand rather than with ``AsyncInferQueue``: a failed job there leaves
    the queue raising for every later job, while a plain ``InferRequest`` reports its own
    failure on ``wait()`` and is ready for the next one.
    """

    def __init__(
        self,
        compiled: ov.CompiledModel,
        signature: Signature,
        nireq: int = 0,
        limits: RequestLimits = RequestLimits(),
    ) -> None:
        if nireq <= 0:
            nireq = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self.compiled = compiled
        self.signature = signature
        self.limits = limits
        self.nireq = max(1, nireq)
        self.streams = _streams(compiled)
        self.inferences = (
            0  # OpenVINO inferences run so far (batching shows as fewer than requests)
        )
        self._pool = [compiled.create_infer_request() for _ in range(self.nireq)]
        self._output_index = {spec.name: i for i, spec in enumerate(signature.outputs)}

    def run(
        self,
        requests: Sequence[Mapping[str, np.ndarray]],
        wanted: Sequence[Optional[Sequence[str]]] = (),
    ) -> list[Result]:
        """Outputs (or the error) of every request, in order."""
        results: list[Optional[Result]] = [None] * len(requests)
        joined: dict[tuple, _Group] = {}
        for i, tensors in enumerate(requests):
            try:
                batch = self.signature.check_request(tensors)
                self.limits.check(tensors)
            except RequestError as exc:
                # measured: each refused 256 MiB request kept 256 MiB more of /dev/shm
                results[i] = detached(exc)
                continue
            group = joined.setdefault(self._group_key(i, tensors), _Group([], []))
            group.members.append(i)
            group.sizes.append(batch)
        groups = [part for group in joined.values() for part in self._per_stream(group)]
        if len(groups) == 1:  # one job: run it in this thread, no hand-off to OpenVINO's pool
            if self._start(self._pool[0], groups[0], requests, alone=True):
                self._collect(self._pool[0], groups[0])
        else:
            self._overlap(groups, requests)
        self.inferences += len(groups)
        for group in groups:
            self._finish(group, results, wanted)
        return [r if r is not None else BackendError("internal: no result") for r in results]

    def _overlap(self, groups: list[_Group], requests: Sequence[Mapping[str, np.ndarray]]) -> None:
        """Run the groups on the pool of infer requests, as many at once as it holds."""
        free = list(self._pool)
        running: list[tuple[ov.InferRequest, _Group]] = []
        for group in groups:
            if not free:  # every infer request busy: wait for the oldest, then reuse it
                request, done = running.pop(0)
                self._collect(request, done)
                free.append(request)
            request = free.pop()
            if self._start(request, group, requests):
                running.append((request, group))
            else:
                free.append(request)
        for request, group in running:
            self._collect(request, group)

    def _per_stream(self, group: _Group) -> list[_Group]:
        parts = min(self.streams, self.nireq, len(group.members))
        if parts <= 1:
            return [group]
        cuts = np.array_split(np.arange(len(group.members)), parts)
        return [_Group([group.members[j] for j in c], [group.sizes[j] for j in c]) for c in cuts]

    def _group_key(self, index: int, tensors: Mapping[str, np.ndarray]) -> tuple:
        if self.signature.max_batch_size <= 0:
            return ("alone", index)
        # Joinable when every input agrees past dimension 0. Triton's dynamic batcher never
        # hands over more than max_batch_size rows in total, so one group always fits.
        return tuple((s.name, tensors[s.name].shape[1:]) for s in self.signature.inputs)

    def _start(
        self,
        request: ov.InferRequest,
        group: _Group,
        requests: Sequence[Mapping[str, np.ndarray]],
        alone: bool = False,
    ) -> bool:
        for index, spec in enumerate(self.signature.inputs):
            parts = [
                np.ascontiguousarray(dtypes.to_openvino(requests[i][spec.name]))
                for i in group.members
            ]
            group.inputs[index] = parts[0] if len(parts) == 1 else np.concatenate(parts)
        try:
            if alone:
                request.infer(group.inputs, share_inputs=True)
            else:
                request.start_async(group.inputs, share_inputs=True)
            return True
        except Exception as exc:  # shape/type refused by OpenVINO when setting the tensors
            group.error = RequestError(f"OpenVINO refused the input: {first_line(exc)}")
            return False

    def _collect(self, request: ov.InferRequest, group: _Group) -> None:
        # Copy: the infer request's output memory is reused by its next job.
        try:
            request.wait()
            group.outputs = {
                index: dtypes.from_openvino(request.get_output_tensor(index))
                for index in range(len(self.signature.outputs))
            }
        except Exception as exc:
            group.error = BackendError(f"inference failed: {first_line(exc)}")

    def _finish(
        self,
        group: _Group,
        results: list[Optional[Result]],
        wanted: Sequence[Optional[Sequence[str]]],
    ) -> None:
        group.inputs.clear()
        if group.outputs is None:
            error = group.error or BackendError("inference failed without a message")
            for i in group.members:
                results[i] = error
            return
        if len(group.members) == 1:
            split = {index: [array] for index, array in group.outputs.items()}
        else:
            offsets = np.cumsum(group.sizes)[:-1]
            split = {index: np.split(array, offsets) for index, array in group.outputs.items()}
        for position, i in enumerate(group.members):
            requested = wanted[i] if i < len(wanted) else None
            names = list(requested) if requested else list(self._output_index)
            unknown = [n for n in names if n not in self._output_index]
            if unknown:
                results[i] = RequestError(
                    f"requested output(s) {unknown} do not exist; the model has "
                    f"{sorted(self._output_index)}",
                    reason="unknown_output",
                )
                continue
            results[i] = {name: split[self._output_index[name]][position] for name in names}


def _streams(compiled: ov.CompiledModel) -> int:
    try:
        return max(1, int(compiled.get_property("NUM_STREAMS")))
    except Exception:  # devices without the property (or AUTO's reply) count as one stream
        return 1
