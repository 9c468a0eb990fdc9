"""The gRPC side of the TFS front: TensorFlow Serving's services and KServe on one port.

``tensorflow.serving.PredictionService`` and ``ModelService`` are answered by
:class:`TfsService`; every ``inference.GRPCInferenceService`` call (KServe v2) is passed to
Triton as raw bytes, so one port speaks both APIs as OVMS's ``--port`` does (a ``ModelInfer``
with ``BYTES`` images for an image input gets them decoded first, see ``kserve_images``).
"""

from __future__ import annotations

import logging
from typing import Any, AsyncIterator, Awaitable, Callable, Optional

import grpc

from ovtriton.tfs import protos
from ovtriton.tfs.admission import Busy
from ovtriton.tfs.errors import TfsError
from ovtriton.tfs.metrics import FrontMetrics
from ovtriton.tfs.service import TfsService
from ovtriton.tfs.kserve_images import decode_images, may_carry_bytes
from ovtriton.tfs.triton import CHANNEL_OPTIONS

LOGGER = logging.getLogger(__name__)
PREDICTION = "tensorflow.serving.PredictionService"
MODEL_SERVICE = "tensorflow.serving.ModelService"
KSERVE_PREFIX = "/inference.GRPCInferenceService/"
_NOT_IN_OVMS = "is not implemented: OVMS serves only Predict, GetModelMetadata and GetModelStatus"


def _unary(
    method: str,
    handler: Callable[..., Awaitable[Any]],
    request_type: Any,
    metrics: FrontMetrics,
    sized: bool = False,
) -> grpc.RpcMethodHandler:
    """``sized``: the handler also takes the request's size as received (``wire_bytes``)."""

    def parse(data: bytes) -> tuple[Any, int]:
        return request_type.FromString(data), len(data)

    async def call(received: tuple[Any, int], context: grpc.aio.ServicerContext) -> Any:
        request, size = received
        with metrics.measure("gRPC", method, request.model_spec.name) as outcome:
            try:
                return await (handler(request, size) if sized else handler(request))
            except TfsError as error:
                outcome.failed()
                metrics.refused("gRPC", error.code.name.lower())
                await context.abort(error.code, error.message)

    return grpc.unary_unary_rpc_method_handler(
        call,
        request_deserializer=parse,
        response_serializer=lambda message: message.SerializeToString(),
    )


def _unimplemented(service: str, method: str) -> grpc.RpcMethodHandler:
    async def call(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{service}/{method} {_NOT_IN_OVMS}")
        return b""  # not reached: abort raises

    return grpc.unary_unary_rpc_method_handler(call)


def tfs_handlers(service: TfsService, metrics: FrontMetrics) -> list[grpc.GenericRpcHandler]:
    prediction = {
        "Predict": _unary("Predict", service.predict, protos.PredictRequest, metrics, sized=True),
        "GetModelMetadata": _unary(
            "GetModelMetadata", service.metadata, protos.GetModelMetadataRequest, metrics
        ),
    }
    for name in ("Classify", "Regress", "MultiInference"):
        prediction[name] = _unimplemented(PREDICTION, name)
    model = {
        "GetModelStatus": _unary(
            "GetModelStatus", service.status, protos.GetModelStatusRequest, metrics
        ),
        "HandleReloadConfigRequest": _unimplemented(MODEL_SERVICE, "HandleReloadConfigRequest"),
    }
    return [
        grpc.method_handlers_generic_handler(PREDICTION, prediction),
        grpc.method_handlers_generic_handler(MODEL_SERVICE, model),
    ]


class KServeProxy(grpc.GenericRpcHandler):
    """Passes every KServe v2 gRPC call to Triton unchanged (bytes in, bytes out)."""

    def __init__(self, service: TfsService, metrics: FrontMetrics) -> None:
        self.tfs = service
        self.channel = service.triton.channel
        self.budget = service.budget  # a request holds its size while Triton runs it
        self.refusals = metrics.refusals.counter("gRPC KServe")

    def service(self, details: grpc.HandlerCallDetails) -> Optional[grpc.RpcMethodHandler]:
        method = details.method
        if not method.startswith(KSERVE_PREFIX):
            return None
        if method.endswith("/ModelStreamInfer"):
            stream_call = self.channel.stream_stream(method)

            async def stream(
                requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext
            ) -> AsyncIterator[bytes]:
                call = stream_call(requests, metadata=_forwarded(context))
                try:
                    async for response in call:
                        yield response
                except grpc.aio.AioRpcError as error:
                    await context.abort(error.code(), error.details() or "")

            return grpc.stream_stream_rpc_method_handler(stream)
        unary_call = self.channel.unary_unary(method)

        infer = method.endswith("/ModelInfer")
        repository = "/RepositoryModel" in method  # a load/unload may change any model

        async def unary(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            try:
                async with self.budget.hold(len(request)):
                    if infer and may_carry_bytes(request):
                        request = await decode_images(request, self.tfs)
                    try:
                        return bytes(await unary_call(request, metadata=_forwarded(context)))
                    finally:
                        if repository:
                            self.tfs.models.drop()
            except Busy as error:
                self.refusals["busy"] += 1
                await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error))
                raise  # not reached: abort raises
            except TfsError as error:
                self.refusals[error.code.name.lower()] += 1
                await context.abort(error.code, error.message)
                raise  # not reached: abort raises
            except grpc.aio.AioRpcError as error:
                self.refusals[f"triton_{error.code().name.lower()}"] += 1
                await context.abort(error.code(), error.details() or "")
                raise  # not reached: abort raises

        return grpc.unary_unary_rpc_method_handler(unary)


def _forwarded(context: grpc.aio.ServicerContext) -> tuple[tuple[str, Any], ...]:
    """The caller's metadata minus what gRPC itself sets (so headers like auth pass through)."""
    return tuple(
        (key, value)
        for key, value in (context.invocation_metadata() or ())
        if not key.startswith(":") and key not in ("user-agent", "grpc-accept-encoding", "te")
    )


async def start_grpc(address: str, service: TfsService, metrics: FrontMetrics) -> grpc.aio.Server:
    """Serve TFS and KServe gRPC on ``address`` (host:port)."""
    # No SO_REUSEPORT: a second server on the same port must fail, not share the traffic.
    server = grpc.aio.server(options=[*CHANNEL_OPTIONS, ("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers(
        (*tfs_handlers(service, metrics), KServeProxy(service, metrics))
    )
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError as error:  # grpc raises on a port in use
        raise OSError(f"cannot bind the gRPC port {address}: {error}") from None
    if bound == 0:
        raise OSError(f"cannot bind the gRPC port {address}: is it in use?")
    await server.start()
    LOGGER.info("TFS + KServe gRPC front on %s", address)
    return server
