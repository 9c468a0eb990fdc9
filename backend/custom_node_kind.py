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
from concurrent.futures import Future

import numpy as np

from .custom_node import CustomNodeError, CustomNodeLibrary, CustomNodeLoadError, TensorInfo
from .custom_node_executor import CustomNodeExecutor
from .errors import BackendError


class CustomNode:
    """One custom node: its own initialized library (OVMS initializes per node, with the node's
    params), the node's params for every call, and the outputs the pipeline reads from it."""

    def __init__(
        self,
        name: str,
        library: CustomNodeLibrary,
        params: Mapping[str, str],
        outputs: Collection[str],
        executor: CustomNodeExecutor,
    ) -> None:
        self.name = name
        self.library = library
        self.params = dict(params)
        self.wanted = tuple(outputs)
        self.executor = executor

    @classmethod
    def load(
        cls,
        name: str,
        path: str,
        params: Mapping[str, str],
        inputs: Collection[str],
        outputs: Collection[str],
        executor: CustomNodeExecutor,
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
        return cls(name, library, params, outputs, executor)

    def inputs_info(self) -> dict[str, TensorInfo]:
        return self.library.inputs_info(self.params)

    def outputs_info(self) -> dict[str, TensorInfo]:
        return self.library.outputs_info(self.params)

    def start(
        self, inputs: Mapping[str, np.ndarray], done: Callable[[CustomNodeCall], None]
    ) -> CustomNodeCall:
        """Start one execution; ``inputs`` must stay valid until ``done`` fires."""
        call = CustomNodeCall(self.name)
        call.started = time.perf_counter()
        future = self.executor.submit(self.library, inputs, self.params)
        call.attach(future, self.wanted, done)
        return call

    def run(self, inputs: Mapping[str, np.ndarray]) -> CustomNodeCall:
        """One execution in the calling thread (nothing else in flight: no hand-off)."""
        call = CustomNodeCall(self.name)
        call.started = time.perf_counter()
        future: Future[dict[str, np.ndarray]] = Future()
        try:
            future.set_result(self.library.execute(inputs, self.params))
        except BaseException as exc:  # reported by outputs(), as for a worker's execution
            future.set_exception(exc)
        call.attach(future, self.wanted, lambda _: None)
        return call

    def close(self) -> None:
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

    def __init__(self, node: str) -> None:
        self.node = node
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

    def outputs(self) -> Mapping[str, np.ndarray]:
        """The outputs by data item; raises the node's ``BackendError``."""
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
