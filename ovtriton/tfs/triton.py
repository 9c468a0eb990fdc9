"""The TFS front's link to the Triton it fronts: Triton's own gRPC API over loopback (asyncio).

Raw tensor bytes go through untouched (``raw_input_contents`` / ``raw_output_contents``), so a
TFS request whose data is in ``tensor_content`` is forwarded without a NumPy copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import grpc
from tritonclient.grpc import service_pb2, service_pb2_grpc

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

    def __init__(self, url: str, headers: Sequence[tuple[str, str]] = ()) -> None:
        self.url = url
        self.headers = tuple(headers)
        self._channel: Optional[grpc.aio.Channel] = None
        self._stub: Any = None

    async def open(self) -> None:
        self._channel = grpc.aio.insecure_channel(self.url, options=CHANNEL_OPTIONS)
        self._stub = service_pb2_grpc.GRPCInferenceServiceStub(self._channel)

    async def close(self) -> None:
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
