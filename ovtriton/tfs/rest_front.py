"""The REST side of the TFS front (aiohttp): TFS REST, OVMS's ``/v1/config``, KServe, metrics.

- ``GET /v1/models/{m}[/versions/{v}]`` status, ``…/metadata``, ``POST …:predict``;
- OVMS's ``GET /v1/config`` and ``POST /v1/config/reload`` (``serve --config``'s reload, now);
- ``/v2/…`` (KServe v2 REST) passed to Triton's HTTP port, guarded (``passthrough``: depth,
  declared sizes, inflation, bytes in flight);
- ``GET /metrics``: Triton's metrics, then the front's own (OVMS serves them on this port too).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable, Optional

import aiohttp
import grpc
from aiohttp import web
from google.protobuf import json_format

from ovtriton.tfs import protos
from ovtriton.tfs.errors import TfsError
from ovtriton.tfs.across_reloads import POLL_SECONDS, AcrossReloads
from ovtriton.tfs.admission import ByteBudget
from ovtriton.tfs.kserve_rest import HEADER_LENGTH, as_ovms_error, decode_rest_images, not_json
from ovtriton.tfs.metrics import FrontMetrics
from ovtriton.tfs.json_guard import BodyRefused, check_depth
from ovtriton.tfs.passthrough import GuardedPassthrough, GuardLimits, read_body
from ovtriton.tfs.rest_json import predict_request, predict_response
from ovtriton.tfs.service import TfsService

LOGGER = logging.getLogger(__name__)
_MODEL = "/v1/models/{model:[^/:]+}"
_VERSION = _MODEL + "/versions/{version:[0-9]+}"
_BAD = grpc.StatusCode.INVALID_ARGUMENT


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(body, indent=4), status=status, content_type="application/json"
    )


def _status_dict(response: Any) -> dict[str, Any]:
    return json_format.MessageToDict(
        response, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def _spec(request: Any, message: Any) -> Any:
    message.model_spec.name = request.match_info["model"]
    message.model_spec.version.value = int(request.match_info.get("version", 0))
    return message


class RestFront:
    """The aiohttp application of the TFS REST API on top of :class:`TfsService`."""

    def __init__(
        self,
        service: TfsService,
        metrics: FrontMetrics,
        triton_http: str,
        triton_metrics: Optional[str],
        limits: GuardLimits = GuardLimits(),
        budget: Optional[ByteBudget] = None,
    ) -> None:
        self.service = service
        self.metrics = metrics
        self.triton_http = triton_http
        self.triton_metrics = triton_metrics
        self.limits = limits
        self.session: Optional[aiohttp.ClientSession] = None
        self.across = AcrossReloads()  # Triton's and the backend's counters across reloads
        self._poller: Optional[asyncio.Task] = None
        self.passthrough = FrontPassthrough(
            service, triton_http, limits, budget, metrics.refusals.counter("REST /v2")
        )
        self.app = web.Application(client_max_size=limits.max_body_bytes)
        self.app.router.add_get("/v1/config", self.config)
        self.app.router.add_post("/v1/config/reload", self.config_reload)
        for base in (_MODEL, _VERSION):
            self.app.router.add_get(base, self._tfs("GetModelStatus", self.status))
            self.app.router.add_get(
                base + "/metadata", self._tfs("GetModelMetadata", self.metadata)
            )
            self.app.router.add_post(base + ":predict", self._tfs("Predict", self.predict))
        self.app.router.add_get("/metrics", self.prometheus)
        self.app.router.add_route("*", "/v2{tail:.*}", self.passthrough.forward)
        self.app.on_startup.extend((self._open, self.passthrough.open))
        self.app.on_cleanup.extend((self._close, self.passthrough.close))

    async def _open(self, app: web.Application) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), auto_decompress=False
        )
        if self.triton_metrics:
            self._poller = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        """Read Triton's metrics every POLL_SECONDS, so a reload between scrapes is seen."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            await self._triton_metrics()

    async def _triton_metrics(self) -> bytes:
        text = b""
        if self.triton_metrics and self.session is not None:
            try:
                async with self.session.get(self.triton_metrics) as answer:
                    text = await answer.read()
            except aiohttp.ClientError as error:
                LOGGER.warning("Triton's metrics at %s: %s", self.triton_metrics, error)
        if text:
            self.across.update(text.decode(errors="replace"))
        return text

    async def _close(self, app: web.Application) -> None:
        if self._poller is not None:
            self._poller.cancel()
        if self.session is not None:
            await self.session.close()

    def _tfs(
        self, method: str, handler: Callable[[web.Request], Awaitable[web.Response]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def call(request: web.Request) -> web.Response:
            with self.metrics.measure("REST", method, request.match_info["model"]) as outcome:
                try:
                    return await handler(request)
                except TfsError as error:
                    outcome.failed()
                    self.metrics.refused("REST", error.code.name.lower())
                    return _json({"error": error.message}, error.http_status)

        return call

    async def status(self, request: web.Request) -> web.Response:
        response = await self.service.status(_spec(request, protos.GetModelStatusRequest()))
        return _json(_status_dict(response))

    async def metadata(self, request: web.Request) -> web.Response:
        response = await self.service.metadata(_spec(request, protos.GetModelMetadataRequest()))
        body = json_format.MessageToDict(
            response, always_print_fields_with_no_presence=True, descriptor_pool=protos.POOL
        )
        return _json(body)

    async def predict(self, request: web.Request) -> web.Response:
        model = request.match_info["model"]
        version = int(request.match_info.get("version", 0))
        try:
            text = await read_body(request, self.limits)
            check_depth(text, self.limits.max_depth)  # json.loads recurses
            body = json.loads(text)
        except BodyRefused as error:
            code = grpc.StatusCode.RESOURCE_EXHAUSTED if error.status == 413 else _BAD
            raise TfsError(code, error.message) from None
        except ValueError as error:
            raise not_json(f"Error: {error}") from None
        info = await self.service.models.get(model, version or None)
        message, row = predict_request(body, model, version, info.input_types)
        return _json(predict_response(await self.service.predict(message), row))

    async def config(self, request: web.Request) -> web.Response:
        try:
            statuses = await self.service.all_statuses()
        except TfsError as error:
            return _json({"error": error.message}, error.http_status)
        return _json({name: _status_dict(s) for name, s in statuses.items()})

    async def config_reload(self, request: web.Request) -> web.Response:
        """OVMS's reload: 201 and the config status when models changed, 200 when not."""
        reload = self.service.reload
        if reload is None:
            return _json(
                {
                    "error": "POST /v1/config/reload reloads an OVMS config: this server serves "
                    "a Triton model repository (serve --model-repository), which has none; "
                    "start it with --config_path to reload"
                },
                501,
            )
        outcome = await asyncio.get_running_loop().run_in_executor(None, reload.reload)
        if outcome.error:
            return _json(
                {
                    "error": "Reloading config file failed. Check server logs for more info. "
                    f"({outcome.error})"
                },
                500,
            )
        response = await self.config(request)
        if response.status == 200 and outcome.changed:
            response.set_status(201)
        return response

    async def prometheus(self, request: web.Request) -> web.Response:
        text = await self._triton_metrics()
        body = text + self.across.exposition() + self.metrics.exposition()
        return web.Response(body=body, content_type="text/plain")


class FrontPassthrough(GuardedPassthrough):
    """The front's ``/v2``: guarded as Triton's own port is, plus what OVMS's REST port does —
    binary images decoded for the model (``kserve_rest``), OVMS's answer to a body that is not
    JSON, and the model info cache dropped when a repository call may have changed models."""

    def __init__(self, service: TfsService, *args: Any) -> None:
        super().__init__(*args)
        self.service = service

    async def rewrite(self, request: web.Request, body: bytes, headers: dict[str, str]) -> bytes:
        if request.method != "POST" or not request.path.endswith("/infer"):
            return body
        try:
            rewritten = await decode_rest_images(request.path, request.headers, body, self.service)
        except TfsError as error:
            raise BodyRefused(error.http_status, error.message) from None
        if rewritten is None:
            return body
        body, extra = rewritten
        for key in [k for k in headers if k.lower() == HEADER_LENGTH.lower()]:
            del headers[key]
        headers.update(extra)
        return body

    def answer(self, request: web.Request, status: int, payload: bytes) -> Optional[web.Response]:
        if request.method == "POST" and "/repository/" in request.path:
            self.service.models.drop()  # a load or unload may have changed any model
        ovms = as_ovms_error(status, payload)  # OVMS's 412 for a body that is not JSON
        return None if ovms is None else _json({"error": ovms.message}, ovms.http_status)
