"""A pipeline node of ``"type": "custom"``: a custom node library run on a worker thread.

Shaped for the pipeline model's scheduler: ``start(inputs, done)`` returns a call whose
``outputs()`` are read once ``done(call)`` has fired (on the worker thread) and dropped by
``release()``. Loading checks the node's wiring against the library's own metadata, as OVMS's
pipeline validation does, so a miswired node fails the model's load, not every request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future, wait

import numpy as np

from .custom_node import CustomNodeError, CustomNodeLibrary, CustomNodeLoadError, TensorInfo
from .custom_node_executor import CustomNodeExecutor
from .errors import BackendError


DEFAULT_DEADLINE = 60.0  # seconds; parameter CUSTOM_NODE_DEADLINE_SECONDS (0: none)


class CustomNode:
    """One custom node: its own initialized library (OVMS initializes per node, with the node's
    params), the node's params for every call, and the outputs the pipeline reads from it.

    An execution that outlives ``deadline`` seconds is answered with a ``DEADLINE_EXCEEDED``
    error and the node is *hung*: a thread stuck in a foreign call cannot be stopped, so every
    later request is refused at once and the pipeline model asks for its stub to be replaced
    (``PipelineRunner.hung``)."""

    def __init__(
        self,
        name: str,
        library: CustomNodeLibrary,
        params: Mapping[str, str],
        outputs: Collection[str],
        executor: CustomNodeExecutor,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        self.name = name
        self.library = library
        self.params = dict(params)
        self.wanted = tuple(outputs)
        self.executor = executor
        self.deadline = deadline
        self.hung = False

    @classmethod
    def load(
        cls,
        name: str,
        path: str,
        params: Mapping[str, str],
        inputs: Collection[str],
        outputs: Collection[str],
        executor: CustomNodeExecutor,
        deadline: float = DEFAULT_DEADLINE,
    ) -> CustomNode:
        """Load and initialize the library for node ``name`` whose ``inputs`` are connected and
        whose ``outputs`` (data items) the pipeline reads; raises ``CustomNodeLoadError``."""
        library = CustomNodeLibrary(path, node=name)
        try:
            library.initialize(params)
            check_wiring(
                name, library.inputs_info(params), library.outputs_info(params), inputs, outputs
            )
        except BaseException:
            library.close()
            raise
        return cls(name, library, params, outputs, executor, deadline)

    def inputs_info(self) -> dict[str, TensorInfo]:
        return self.library.inputs_info(self.params)

    def outputs_info(self) -> dict[str, TensorInfo]:
        return self.library.outputs_info(self.params)

    def start(
        self, inputs: Mapping[str, np.ndarray], done: Callable[[CustomNodeCall], None]
    ) -> CustomNodeCall:
        """Start one execution; ``inputs`` must stay valid until ``done`` fires."""
        call = CustomNodeCall(self.name, self)
        call.started = time.perf_counter()
        call.attach(self._submit(inputs), self.wanted, done)
        return call

    def run(self, inputs: Mapping[str, np.ndarray]) -> CustomNodeCall:
        """One execution, waited for by the calling thread (nothing else in flight); on a
        worker all the same, so that the deadline holds."""
        call = CustomNodeCall(self.name, self)
        call.started = time.perf_counter()
        future = self._submit(inputs)
        wait([future], timeout=self.deadline if self.deadline > 0 else None)
        call.attach(future, self.wanted, lambda _: None)
        call.overdue(time.perf_counter())
        return call

    def _submit(self, inputs: Mapping[str, np.ndarray]) -> Future[dict[str, np.ndarray]]:
        if not self.hung:
            return self.executor.submit(self.library, inputs, self.params)
        # Its worker is still stuck in the library: refuse at once, do not pile up.
        future: Future[dict[str, np.ndarray]] = Future()
        future.set_exception(
            CustomNodeError(
                f"custom node {self.name!r} hung in an earlier request (over its "
                f"{self.deadline:g} s deadline, parameter CUSTOM_NODE_DEADLINE_SECONDS); the "
                "model is unavailable until it is reloaded",
                "DEADLINE_EXCEEDED",
            )
        )
        return future

    def close(self) -> None:
        if self.hung:  # deinitialize would wait for the stuck execution forever
            return
        self.library.close()


def check_wiring(
    node: str,
    inputs_info: Mapping[str, TensorInfo],
    outputs_info: Mapping[str, TensorInfo],
    inputs: Collection[str],
    outputs: Collection[str],
) -> None:
    """OVMS's load-time checks of a custom node's connections against the library's metadata."""
    problems = []
    unknown_outputs = sorted(set(outputs) - set(outputs_info))
    if unknown_outputs:
        problems.append(
            f"outputs {unknown_outputs} are not produced by the library (it has "
            f"{sorted(outputs_info)}) (OVMS: Pipeline definition has reference to missing "
            "model output)"
        )
    unknown_inputs = sorted(set(inputs) - set(inputs_info))
    if unknown_inputs:
        problems.append(
            f"inputs {unknown_inputs} are not inputs of the library (it has "
            f"{sorted(inputs_info)}) (OVMS: Pipeline definition has connection to non "
            "existing model input)"
        )
    unconnected = sorted(set(inputs_info) - set(inputs))
    if unconnected:
        problems.append(
            f"library inputs {unconnected} are not connected (OVMS: Pipeline definition does "
            "not have connections for all inputs of underlying models)"
        )
    if problems:
        raise CustomNodeLoadError(
            f"custom node {node!r}: " + "; ".join(problems) + "; fix the node's inputs/outputs"
        )


class CustomNodeCall:
    """One execution in flight; ``done`` fires exactly once, from the worker thread."""

    def __init__(self, node: str, owner: CustomNode | None = None) -> None:
        self.node = node
        self.owner = owner
        self.timed_out = False
        self.started = 0.0
        self.finished = 0.0
        self._future: Future[dict[str, np.ndarray]] | None = None
        self._wanted: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self._reported = False

    def attach(
        self,
        future: Future[dict[str, np.ndarray]],
        wanted: tuple[str, ...],
        done: Callable[[CustomNodeCall], None],
    ) -> None:
        self._future, self._wanted = future, wanted
        future.add_done_callback(lambda _: self._report(done))

    def _report(self, done: Callable[[CustomNodeCall], None]) -> None:
        with self._lock:
            if self._reported:
                return
            self._reported = True
            self.finished = time.perf_counter()
        done(self)

    def overdue(self, now: float) -> bool:
        """True once when the execution outlived its node's deadline (then ``done`` never
        fires for it): the node is marked hung and ``outputs`` raises DEADLINE_EXCEEDED."""
        owner = self.owner
        if owner is None or owner.deadline <= 0 or now - self.started < owner.deadline:
            return False
        with self._lock:
            if self._reported or self._future is None or self._future.done():
                return False
            self._reported = True
            self.timed_out = True
            self.finished = now
        owner.hung = True
        return True

    def outputs(self) -> Mapping[str, np.ndarray]:
        """The outputs by data item; raises the node's ``BackendError``."""
        if self.timed_out and self.owner is not None:
            raise CustomNodeError(
                f"DEADLINE_EXCEEDED: custom node {self.node!r} did not finish within "
                f"{self.owner.deadline:g} s (parameter CUSTOM_NODE_DEADLINE_SECONDS); the "
                "model is reloaded",
                "DEADLINE_EXCEEDED",
            )
        if self._future is None:
            raise BackendError(f"node {self.node!r}: outputs read after release")
        try:
            result = self._future.result()
        except BackendError:
            raise
        except Exception as exc:  # a bug of ours, reported on the request, not lost
            raise BackendError(f"node {self.node!r}: custom node call failed: {exc!r}") from exc
        missing = [name for name in self._wanted if name not in result]
        if missing:
            raise CustomNodeError(
                f"custom node {self.node!r}: execute returned {sorted(result)}, without "
                f"{missing} (OVMS: Custom node output is missing)",
                "NODE_LIBRARY_MISSING_OUTPUT",
            )
        return result

    def finished_without_notice(self) -> bool:
        """True once when the call is over but ``done`` has not fired (then it never will)."""
        with self._lock:
            if self._reported or self._future is None or not self._future.done():
                return False
            self._reported = True
            self.finished = time.perf_counter()
            return True

    def release(self) -> None:
        self._future = None
