"""Modes (b) and (c): the pipeline through tritonserver.

(b) the ensemble over gRPC, over HTTP, and over gRPC with the inputs and outputs in Triton's
system shared memory (registered once per client thread, so a request only sends names and
offsets); (c) client-side chaining: one gRPC request per step, the intermediates travel back
to the client and out again, independent steps sent at the same time (``async_infer``).
Every session belongs to one client thread.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Mapping
from typing import Any, Callable, Optional

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.utils.shared_memory as shm
from tritonclient.utils import np_to_triton_dtype

from ovtriton.client import Client

from .walker import Done, Tensors, walk
from .workload import Dag, Step

LOGGER = logging.getLogger(__name__)

Session = Callable[[Mapping[str, np.ndarray]], Tensors]
_REGIONS = itertools.count()


class Ensemble:
    """The ensemble over gRPC or HTTP (binary tensors) through the shared client adapter."""

    def __init__(self, url: str, protocol: str, dag: Dag) -> None:
        self.client = Client(url, protocol)
        self.dag = dag
        self.outputs = [t.name for t in dag.outputs]

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> Tensors:
        return self.client.infer(self.dag.name, inputs, self.outputs)

    def close(self) -> None:
        self.client.close()


class EnsembleShm:
    """gRPC with the tensors in system shared memory; regions sized for ``sample``.

    Registering a region is a control API: ``headers`` carry the server's admin key."""

    def __init__(
        self,
        url: str,
        dag: Dag,
        sample: Mapping[str, np.ndarray],
        output_bytes: Mapping[str, int],
        headers: Mapping[str, str],
    ) -> None:
        self.client = grpcclient.InferenceServerClient(url)
        self.headers = dict(headers)
        self.dag = dag
        self.regions: list[tuple[str, Any]] = []
        self.inputs = []
        for name, array in sample.items():
            handle, region = self._region(name, array.nbytes)
            item = grpcclient.InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
            item.set_shared_memory(region, array.nbytes)
            self.inputs.append((item, handle))
        self.outputs = []
        for tensor in dag.outputs:
            size = output_bytes[tensor.name]
            handle, region = self._region(tensor.name, size)
            item = grpcclient.InferRequestedOutput(tensor.name)
            item.set_shared_memory(region, size)
            self.outputs.append((item, handle))

    def _region(self, tensor: str, size: int) -> tuple[Any, str]:
        region = f"ovtriton_bench_{os.getpid()}_{next(_REGIONS)}"
        key = "/" + region
        handle = shm.create_shared_memory_region(region, key, size)
        self.client.register_system_shared_memory(region, key, size, headers=self.headers)
        self.regions.append((region, handle))
        return handle, region

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> Tensors:
        for item, handle in self.inputs:
            shm.set_shared_memory_region(handle, [np.ascontiguousarray(inputs[item.name()])])
        result = self.client.infer(
            self.dag.name, [i for i, _ in self.inputs], outputs=[o for o, _ in self.outputs]
        )
        out: Tensors = {}
        for item, handle in self.outputs:
            meta = result.get_output(item.name())
            dtype = np.dtype(grpcclient.triton_to_np_dtype(meta.datatype))
            out[item.name()] = np.array(shm.get_contents_as_numpy(handle, dtype, list(meta.shape)))
        return out

    def close(self) -> None:
        for region, handle in self.regions:
            try:
                self.client.unregister_system_shared_memory(region, headers=self.headers)
            finally:
                shm.destroy_shared_memory_region(handle)
        self.regions.clear()
        self.client.close()


class ChainGrpc:
    """Client-side chaining: the DAG walked by the client, one request per step."""

    def __init__(self, url: str, dag: Dag) -> None:
        self.client = Client(url, "grpc")
        self.dag = dag

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> Tensors:
        return walk(self.dag, inputs, self._launch)

    def _launch(self, step: Step, tensors: Tensors, done: Done) -> None:
        names = [name for name, _ in step.output_map]

        def callback(result: Any, error: Optional[Exception]) -> None:
            if error is not None:
                done(None, error)
            else:
                done({name: result.as_numpy(name) for name in names}, None)

        request = self.client.request(tensors, names)
        self.client.raw.async_infer(step.model, request.inputs, callback, outputs=request.outputs)

    def close(self) -> None:
        self.client.close()
