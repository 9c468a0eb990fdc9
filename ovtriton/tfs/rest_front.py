"""The REST side of the TFS front (aiohttp): TFS REST, OVMS's ``/v1/config``, KServe, metrics.

- ``GET /v1/models/{m}[/versions/{v}]`` status, ``…/metadata``, ``POST …:predict``;
- OVMS's ``GET /v1/config`` and ``POST /v1/config/reload`` (``serve --config``'s reload, now);
- ``/v2/…`` (KServe v2 REST) passed to Triton's HTTP port unchanged;
- ``GET /metrics``: Triton's metrics, then the front's own (OVMS serves them on this port too).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable, Optional

import aiohttp
from aiohttp import web
from google.protobuf import json_format

from ovtriton.tfs import protos
from ovtriton.tfs.errors import TfsError
from ovtriton.tfs.kserve_rest import HEADER_LENGTH, as_ovms_error, decode_rest_images, not_json
from ovtriton.tfs.metrics import FrontMetrics
from ovtriton.tfs.rest_json import predict_request, predict_response
from ovtriton.tfs.service import TfsService

LOGGER = logging.getLogger(__name__)
_MODEL = "/v1/models/{model:[^/:]+}"
_VERSION = _MODEL + "/versions/{version:[0-9]+}"
_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


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
    ) -> None:
        self.service = service
        self.metrics = metrics
        self.triton_http = triton_http
        self.triton_metrics = triton_metrics
        self.session: Optional[aiohttp.ClientSession] = None
        self.app = web.Application(client_max_size=1024**3)
        self.app.router.add_get("/v1/config", self.config)
        self.app.router.add_post("/v1/config/reload", self.config_reload)
        for base in (_MODEL, _VERSION):
            self.app.router.add_get(base, self._tfs("GetModelStatus", self.status))
            self.app.router.add_get(
                base + "/metadata", self._tfs("GetModelMetadata", self.metadata)
            )
            self.app.router.add_post(base + ":predict", self._tfs("Predict", self.predict))
        self.app.router.add_get("/metrics", self.prometheus)
        self.app.router.add_route("*", "/v2{tail:.*}", self.kserve)
        self.app.on_startup.append(self._open)
        self.app.on_cleanup.append(self._close)

    async def _open(self, app: web.Application) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), auto_decompress=False
        )

    async def _close(self, app: web.Application) -> None:
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
            body = await request.json(loads=json.loads)
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
        text = b""
        if self.triton_metrics and self.session is not None:
            try:
                async with self.session.get(self.triton_metrics) as answer:
                    text = await answer.read()
            except aiohttp.ClientError as error:
                LOGGER.warning("Triton's metrics at %s: %s", self.triton_metrics, error)
        return web.Response(body=text + self.metrics.exposition(), content_type="text/plain")

    async def kserve(self, request: web.Request) -> web.StreamResponse:
        """KServe v2 REST, passed to Triton as it came (headers, body, query)."""
        if self.session is None:
            raise RuntimeError("the REST front's client session is opened on startup")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        headers.setdefault("Accept-Encoding", "identity")  # compressed only when asked for
        data = await request.read()
        try:
            data = await self._kserve_images(request, headers, data)
        except TfsError as error:
            return _json({"error": error.message}, error.http_status)
        async with self.session.request(
            request.method,
            f"http://{self.triton_http}{request.rel_url}",
            headers=headers,
            data=data,
        ) as answer:
            body = await answer.read()
            if request.method == "POST" and "/repository/" in request.path:
                self.service.models.drop()  # a load or unload may have changed any model
            out = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_HEADERS}
            ovms = as_ovms_error(answer.status, body)  # OVMS's 412 for a body that is not JSON
            if ovms is not None:
                return _json({"error": ovms.message}, ovms.http_status)
            return web.Response(body=body, status=answer.status, headers=out)

    async def _kserve_images(
        self, request: web.Request, headers: dict[str, str], data: bytes
    ) -> bytes:
        """``data`` with binary images decoded for the model (``headers`` updated to match)."""
        if request.method != "POST" or not request.path.endswith("/infer"):
            return data
        rewritten = await decode_rest_images(request.path, request.headers, data, self.service)
        if rewritten is None:
            return data
        body, extra = rewritten
        for key in [k for k in headers if k.lower() == HEADER_LENGTH.lower()]:
            del headers[key]
        headers.update(extra)
        return body
