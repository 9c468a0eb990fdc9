"""KServe v2 REST passed to Triton's HTTP port, guarded: what Triton 2.51 cannot survive stays out.

Used by the TFS front's ``/v2`` routes and by the HTTP guard that stands in front of Triton's
own HTTP port (``ovtriton.server.http_guard``). Each request, before anything is forwarded:

1. holds its body size in the server's :class:`ByteBudget` (429 when the budget stays full);
2. is read up to ``max_body_bytes`` (413 beyond) and, when ``Content-Encoding`` is gzip or
   deflate, inflated up to ``max_inflated_bytes`` (413 beyond) and forwarded plain, never as a
   form (``FORM_TYPES``: tritonserver 2.51 crashes parsing a large one);
3. has a JSON body checked for depth (any endpoint) and, for ``…/infer``, for the bytes its
   inputs declare against the model's ``MAX_INPUT_BYTES`` (read from Triton's model config,
   cached ``CONFIG_TTL`` seconds) or ``max_input_bytes`` when the model has none.

Every refusal is counted by reason (:class:`Refusals`) and answered as Triton answers errors:
``{"error": "..."}``. Answers are compressed only for a client that asked (``Accept-Encoding``).
Subclasses may rewrite a checked body (:meth:`GuardedPassthrough.rewrite`: the TFS front
decodes binary images there) and replace Triton's answer (:meth:`GuardedPassthrough.answer`).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Optional
from urllib.parse import quote

import aiohttp
from aiohttp import web

from ovtriton.tfs.admission import Busy, ByteBudget, inflate
from ovtriton.tfs.json_guard import MAX_DEPTH, BodyRefused, check_depth, check_infer

LOGGER = logging.getLogger(__name__)
DEFAULT_MAX_INPUT_BYTES = 256 << 20  # as the converter's default (converter/input_limit.py)
DEFAULT_MAX_BODY_BYTES = 1024**3 - 1  # as OVMS's and the front's gRPC message limit
# A compressed body inflates to at most this (compressed bodies are for JSON; send large
# tensors as binary data or over gRPC): a 16 KB gzip bomb stops at 16 MiB.
DEFAULT_MAX_INFLATED_BYTES = 16 << 20
CONFIG_TTL = 5.0
HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}
# tritonserver 2.51 (libevhtp) parses a form-encoded body as query arguments and segfaults on
# one of ~4.19 MB and more (measured: a 6 MB JSON body answered as application/json and as
# application/octet-stream, crashed it as application/x-www-form-urlencoded — the type curl -d
# and urllib send by default; triton-inference-server/server#5840). Triton reads no form, so
# these types are not forwarded (the body goes as application/octet-stream).
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_INFER = re.compile(r"^/v2/models/([^/]+)(?:/versions/([0-9]+))?/infer$")
HEADER_LENGTH = "Inference-Header-Content-Length"


@dataclass(frozen=True)
class GuardLimits:
    """The guard's limits; ``max_input_bytes`` applies to models without MAX_INPUT_BYTES."""

    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_inflated_bytes: int = DEFAULT_MAX_INFLATED_BYTES
    max_depth: int = MAX_DEPTH


async def read_body(request: web.Request, limits: GuardLimits) -> bytes:
    """The request's body, inflated (``Content-Encoding``), refused past the limits (413).

    The server must run with ``auto_decompress=False`` (:func:`app_runner`): aiohttp
    would otherwise inflate up to ``client_max_size`` itself.
    """
    cap = limits.max_body_bytes
    if (request.content_length or 0) > cap:
        raise BodyRefused(
            413, f"the body has {request.content_length} bytes, above this server's {cap}"
        )
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise BodyRefused(413, f"the body is larger than this server's {cap} bytes") from None
    encoding = request.headers.get("Content-Encoding", "")
    return inflate(body, encoding, limits.max_inflated_bytes) if body and encoding else body


def app_runner(app: web.Application) -> web.AppRunner:
    """The runner of a server that reads bodies with :func:`read_body` (no auto-inflating)."""
    return web.AppRunner(app, access_log=None, auto_decompress=False)


def _reason(error: BodyRefused) -> str:
    if error.status == 413:
        return "body_too_large"
    if "nests deeper" in error.message:
        return "too_deep"
    if "declare" in error.message:
        return "too_large" if "limit" in error.message else "shape_exceeds_data"
    return "invalid_body"


class GuardedPassthrough:
    """Forwards requests to ``upstream`` (host:port) after the checks above."""

    def __init__(
        self,
        upstream: str,
        limits: GuardLimits = GuardLimits(),
        budget: Optional[ByteBudget] = None,
        refusals: Optional[Counter] = None,
    ) -> None:
        self.upstream = upstream
        self.limits = limits
        self.budget = budget
        # Refused requests by reason: the guard's own and Triton's (``triton_<status>``).
        self.refusals: Counter = Counter() if refusals is None else refusals
        self.session: Optional[aiohttp.ClientSession] = None
        self._configs: dict[tuple[str, str], tuple[float, int]] = {}

    async def open(self, app: Optional[web.Application] = None) -> None:
        if self.budget is None:
            self.budget = ByteBudget()
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), auto_decompress=False
        )

    async def close(self, app: Optional[web.Application] = None) -> None:
        if self.session is not None:
            await self.session.close()

    async def forward(self, request: web.Request) -> web.StreamResponse:
        if self.session is None or self.budget is None:
            raise RuntimeError("GuardedPassthrough.open() was not awaited")
        try:
            wire = request.content_length or 0
            async with self.budget.hold(wire):
                body, headers = await self._checked(request)
                body = await self.rewrite(request, body, headers)
                async with self.budget.hold(len(body) - wire):  # what inflating added
                    return await self._send(request, body, headers)
        except BodyRefused as error:
            self.refusals[_reason(error)] += 1
            LOGGER.info("refused %s %s: %s", request.method, request.path, error.message)
            return web.json_response({"error": error.message}, status=error.status)
        except Busy as error:
            self.refusals["busy"] += 1
            return web.json_response({"error": str(error)}, status=429)

    async def _checked(self, request: web.Request) -> tuple[bytes, dict[str, str]]:
        body = await read_body(request, self.limits)
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in HOP_HEADERS
            and k.lower() != "content-encoding"
            and not (k.lower() == "content-type" and v.lower().startswith(FORM_TYPES))
        }
        headers.setdefault("Accept-Encoding", "identity")  # compressed only when asked for
        if not body:
            return body, headers
        infer = _INFER.match(request.path) if request.method == "POST" else None
        if infer is None:
            check_depth(body, self.limits.max_depth)
            return body, headers
        header_length = _header_length(request)
        limit = await self._model_limit(infer.group(1), infer.group(2) or "")
        check_infer(body, limit, header_length, self.limits.max_depth)
        return body, headers

    async def _send(
        self, request: web.Request, body: bytes, headers: dict[str, str]
    ) -> web.Response:
        assert self.session is not None
        url = f"http://{self.upstream}{request.rel_url}"
        try:
            async with self.session.request(
                request.method, url, headers=headers, data=body
            ) as answer:
                payload = await answer.read()
                if answer.status >= 400:
                    self.refusals[f"triton_{answer.status}"] += 1
                replaced = self.answer(request, answer.status, payload)
                if replaced is not None:
                    return replaced
                out = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
                return web.Response(body=payload, status=answer.status, headers=out)
        except aiohttp.ClientError as error:
            self.refusals["triton_unreachable"] += 1
            message = f"tritonserver's HTTP ({self.upstream}) does not answer: {error}"
            return web.json_response({"error": message}, status=503)

    async def rewrite(self, request: web.Request, body: bytes, headers: dict[str, str]) -> bytes:
        """The body to forward once checked (``headers`` may be changed to match); as it came."""
        return body

    def answer(self, request: web.Request, status: int, payload: bytes) -> Optional[web.Response]:
        """An answer to send instead of Triton's (None: Triton's, as it came)."""
        return None

    async def _model_limit(self, model: str, version: str) -> int:
        """The model's MAX_INPUT_BYTES (its config, cached), else the guard's default."""
        key = (model, version)
        cached = self._configs.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < CONFIG_TTL:
            return cached[1]
        limit = self.limits.max_input_bytes
        path = f"/v2/models/{quote(model, safe='')}" + (f"/versions/{version}" if version else "")
        path += "/config"
        assert self.session is not None
        try:
            async with self.session.get(f"http://{self.upstream}{path}") as answer:
                if answer.status == 200:
                    config = json.loads(await answer.read())
                    value = config.get("parameters", {}).get("MAX_INPUT_BYTES", {})
                    own = int(value.get("string_value", "0") or 0)
                    limit = own if own > 0 else limit
        except (aiohttp.ClientError, ValueError, AttributeError) as error:
            LOGGER.debug("config of %s: %s", model, error)
        self._configs[key] = (now, limit)
        return limit


def _header_length(request: web.Request) -> Optional[int]:
    text = request.headers.get(HEADER_LENGTH)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise BodyRefused(400, f"{HEADER_LENGTH} {text!r} is not a byte count")
    return value
