"""The TFS front's link to the Triton it fronts: Triton's own gRPC API over loopback (asyncio).

Raw tensor bytes go through untouched (``raw_input_contents`` / ``raw_output_contents``), so a
TFS request whose data is in ``tensor_content`` is forwarded without a NumPy copy. With
``shared_memory`` they go through system shared memory instead (``shm_pool.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import grpc
import numpy as np
from tritonclient.grpc import service_pb2, service_pb2_grpc
from tritonclient.utils import triton_to_np_dtype

from ovtriton.tfs import shm_pool

# Triton's own limit is 2 GiB; OVMS accepts up to 1 GiB messages.
MESSAGE_LIMIT = 1024 * 1024 * 1024 - 1
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MESSAGE_LIMIT),
    ("grpc.max_receive_message_length", MESSAGE_LIMIT),
    # When serve restarts a dead tritonserver, reconnect within a second of it being back
    # (gRPC's default backoff grows to 120 s while it is down, failing requests meanwhile).
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


@dataclass(frozen=True)
class Tensor:
    """One tensor as Triton carries it."""

    name: str
    datatype: str
    shape: list[int]
    raw: bytes


@dataclass(frozen=True)
class VersionState:
    """One row of Triton's repository index."""

    name: str
    version: str
    state: str
    reason: str


class TritonLink:
    """Asynchronous calls to Triton's gRPC API; open it inside the event loop that uses it."""

    def __init__(
        self, url: str, headers: Sequence[tuple[str, str]] = (), shared_memory: bool = False
    ) -> None:
        self.url = url
        self.headers = tuple(headers)
        self.shared_memory = shared_memory
        self.pool: Optional[shm_pool.ShmPool] = None
        self._channel: Optional[grpc.aio.Channel] = None
        self._stub: Any = None

    async def open(self) -> None:
        self._channel = grpc.aio.insecure_channel(self.url, options=CHANNEL_OPTIONS)
        self._stub = service_pb2_grpc.GRPCInferenceServiceStub(self._channel)
        if self.shared_memory:
            shm_pool.remove_stale_segments()
            self.pool = shm_pool.ShmPool(self._stub, self.headers)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
        if self._channel is not None:
            await self._channel.close()

    @property
    def channel(self) -> grpc.aio.Channel:
        if self._channel is None:
            raise RuntimeError("TritonLink.open() was not awaited")
        return self._channel

    async def infer(
        self,
        model: str,
        version: Optional[int],
        inputs: Sequence[Tensor],
        outputs: Sequence[str] = (),
    ) -> tuple[str, list[Tensor]]:
        """Run one inference; the model version that answered and the outputs."""
        if self.pool is not None:
            key = (model, version, tuple((t.name, tuple(t.shape)) for t in inputs), tuple(outputs))
            sizes = self.pool.sizes.get(key)
            if sizes:
                answered = await self._infer_shared(model, version, inputs, sizes)
                if answered is not None:
                    return answered
                # refused (an output grew) or no region free: plain, and learn the sizes again
                del self.pool.sizes[key]
            version_answered, tensors = await self._infer_plain(model, version, inputs, outputs)
            fixed = all(t.datatype != "BYTES" for t in [*inputs, *tensors])
            # strings (variable size) always go plain: an empty list says so
            self.pool.sizes[key] = [(t.name, len(t.raw)) for t in tensors] if fixed else []
            return version_answered, tensors
        return await self._infer_plain(model, version, inputs, outputs)

    async def _infer_plain(
        self, model: str, version: Optional[int], inputs: Sequence[Tensor], outputs: Sequence[str]
    ) -> tuple[str, list[Tensor]]:
        request = service_pb2.ModelInferRequest(
            model_name=model, model_version=str(version) if version else ""
        )
        for tensor in inputs:
            request.inputs.add(name=tensor.name, datatype=tensor.datatype, shape=tensor.shape)
            request.raw_input_contents.append(tensor.raw)
        for name in outputs:
            request.outputs.add(name=name)
        response = await self._stub.ModelInfer(request)
        return response.model_version, [
            Tensor(out.name, out.datatype, list(out.shape), raw)
            for out, raw in zip(response.outputs, response.raw_output_contents)
        ]

    async def _infer_shared(
        self,
        model: str,
        version: Optional[int],
        inputs: Sequence[Tensor],
        sizes: Sequence[tuple[str, int]],
    ) -> Optional[tuple[str, list[Tensor]]]:
        """Inputs and outputs through a region set; None when Triton refuses the outputs' room
        or no set is free."""
        assert self.pool is not None
        regions = await self.pool.acquire(
            sum(len(t.raw) for t in inputs), sum(size for _, size in sizes)
        )
        if regions is None:
            return None
        finished = False  # Triton answered (or refused): nothing will write into the regions
        try:
            request = service_pb2.ModelInferRequest(
                model_name=model, model_version=str(version) if version else ""
            )
            placed = shm_pool.write(regions.inputs, [t.raw for t in inputs])
            for tensor, (offset, size) in zip(inputs, placed):
                item = request.inputs.add(
                    name=tensor.name, datatype=tensor.datatype, shape=tensor.shape
                )
                _in_region(item.parameters, regions.inputs.name, offset, size)
            offsets, offset = {}, 0
            for name, size in sizes:
                _in_region(
                    request.outputs.add(name=name).parameters, regions.outputs.name, offset, size
                )
                offsets[name] = offset
                offset += size
            try:
                response = await self._stub.ModelInfer(request)
            except grpc.RpcError as error:
                finished = error.code() != grpc.StatusCode.CANCELLED
                if "shared memory" in (error.details() or "").lower():
                    return None
                raise
            finished = True
            return response.model_version, [
                Tensor(
                    out.name,
                    out.datatype,
                    list(out.shape),
                    shm_pool.read(regions.outputs, offsets[out.name], _byte_size(out)),
                )
                for out in response.outputs
            ]
        finally:
            if finished:
                self.pool.release(regions)
            else:  # cancelled in flight: Triton may still write its outputs there
                self.pool.discard(regions)

    async def metadata(self, model: str, version: Optional[int]) -> Any:
        request = service_pb2.ModelMetadataRequest(
            name=model, version=str(version) if version else ""
        )
        return await self._stub.ModelMetadata(request, metadata=self.headers or None)

    async def config(self, model: str, version: Optional[int]) -> Any:
        """The model's configuration (Triton's ModelConfigResponse)."""
        request = service_pb2.ModelConfigRequest(
            name=model, version=str(version) if version else ""
        )
        return await self._stub.ModelConfig(request, metadata=self.headers or None)

    async def index(self) -> list[VersionState]:
        response = await self._stub.RepositoryIndex(
            service_pb2.RepositoryIndexRequest(), metadata=self.headers or None
        )
        return [VersionState(m.name, m.version, m.state, m.reason) for m in response.models]

    async def ready(self, model: str, version: str) -> bool:
        response = await self._stub.ModelReady(
            service_pb2.ModelReadyRequest(name=model, version=version)
        )
        return bool(response.ready)


def _in_region(parameters: Any, region: str, offset: int, size: int) -> None:
    """Mark a request's input or output as placed in a shared-memory region."""
    parameters["shared_memory_region"].string_param = region
    parameters["shared_memory_offset"].int64_param = offset
    parameters["shared_memory_byte_size"].int64_param = size


def _byte_size(output: Any) -> int:
    """Bytes of a fixed-size output (its shape times its datatype's size)."""
    count = 1
    for dim in output.shape:
        count *= int(dim)
    return count * np.dtype(triton_to_np_dtype(output.datatype)).itemsize
