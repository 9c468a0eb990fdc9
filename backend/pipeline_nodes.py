"""Node kinds of a pipeline model: what the scheduler starts, and how it learns they are done.

A node is started with its inputs and a ``done`` callback; it returns a ``Call`` whose
``outputs()`` are read once ``done`` has fired and stay valid until ``release()``. The scheduler
needs nothing else, so a kind that runs a custom node library (in a worker thread) fits in
beside ``ModelNode``.
"""

from __future__ import annotations

import time
from typing import Callable, Mapping, Protocol

import numpy as np
import openvino as ov

from .errors import BackendError, RequestError
from .signature import Signature

Done = Callable[["Call"], None]


class Call(Protocol):
    node: str
    started: float  # time.perf_counter() at the start
    finished: float  # time.perf_counter() when done fired (0 while running)

    def outputs(self) -> Mapping[str, np.ndarray]:
        """The node's outputs by item name, or raises ``BackendError``."""

    def finished_without_notice(self) -> bool:
        """True when the work is over but ``done`` never fired (a failure that skips it)."""

    def release(self) -> None:
        """The outputs are no longer read: their memory may be reused."""


class Node(Protocol):
    name: str

    def start(self, inputs: Mapping[str, np.ndarray], done: Done) -> Call:
        """Start the node; raises ``RequestError`` for inputs it refuses."""

    def run(self, inputs: Mapping[str, np.ndarray]) -> Call:
        """Run the node in the calling thread (nothing else is in flight: no hand-off)."""


class ModelNode:
    """Runs one compiled model asynchronously; infer requests are pooled and reused.

    Several nodes may share one compiled model (the same model twice in a pipeline); each
    keeps its own pool. The pool grows when every request is held by a running pipeline
    request, so a waiting node never blocks another (no deadlock between branches).
    """

    def __init__(self, name: str, compiled: ov.CompiledModel, signature: Signature) -> None:
        self.name = name
        self.compiled = compiled
        self.signature = signature
        self._free: list[ov.InferRequest] = [compiled.create_infer_request()]
        self._outputs = [(spec.name, index) for index, spec in enumerate(signature.outputs)]

    def start(self, inputs: Mapping[str, np.ndarray], done: Done) -> ModelCall:
        return self._call(inputs, done)

    def run(self, inputs: Mapping[str, np.ndarray]) -> ModelCall:
        return self._call(inputs, None)

    def _call(self, inputs: Mapping[str, np.ndarray], done: Done | None) -> ModelCall:
        try:
            self.signature.check_request(inputs)
        except RequestError as exc:
            raise RequestError(f"node {self.name!r}: {exc}") from None
        request = self._free.pop() if self._free else self.compiled.create_infer_request()
        call = ModelCall(self, request)
        feed = {index: inputs[spec.name] for index, spec in enumerate(self.signature.inputs)}
        call.started = time.perf_counter()
        try:
            if done is None:
                request.infer(feed, share_inputs=True)
                call.finished = time.perf_counter()
            else:
                request.set_callback(call.notify, done)
                request.start_async(feed, share_inputs=True)
        except Exception as exc:  # tensors refused by OpenVINO (or, run here, a failed inference)
            self._free.append(request)
            raise RequestError(f"node {self.name!r}: OpenVINO refused the input: {exc}") from None
        return call

    def give_back(self, request: ov.InferRequest) -> None:
        self._free.append(request)


class ModelCall:
    def __init__(self, node: ModelNode, request: ov.InferRequest) -> None:
        self.node = node.name
        self._owner = node
        self._request: ov.InferRequest | None = request
        self.started = 0.0
        self.finished = 0.0

    def notify(self, done: Done) -> None:
        """OpenVINO's callback (its own thread): note the time, tell the scheduler."""
        self.finished = time.perf_counter()
        done(self)

    def outputs(self) -> dict[str, np.ndarray]:
        request = self._request
        if request is None:
            raise BackendError(f"node {self.node!r}: outputs read after release")
        try:
            request.wait()  # returns at once when done; raises the inference's failure
            return {name: request.get_output_tensor(i).data for name, i in self._owner._outputs}
        except Exception as exc:
            raise BackendError(f"node {self.node!r}: inference failed: {exc}") from None

    def finished_without_notice(self) -> bool:
        request = self._request
        if request is None or self.finished or not request.wait_for(0):
            return False
        self.finished = time.perf_counter()
        return True

    def release(self) -> None:
        if self._request is not None:
            self._owner.give_back(self._request)
            self._request = None
