"""The guarded passthrough against a fake Triton (aiohttp test servers, no tritonserver)."""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ovtriton.server.http_guard import application
from ovtriton.tfs.passthrough import GuardLimits


def fake_triton(seen: list[dict[str, Any]], max_input_bytes: int) -> web.Application:
    """Answers a model config with MAX_INPUT_BYTES and records every request it gets."""

    async def config(request: web.Request) -> web.Response:
        parameters = {"MAX_INPUT_BYTES": {"string_value": str(max_input_bytes)}}
        return web.json_response({"name": request.match_info["m"], "parameters": parameters})

    async def anything(request: web.Request) -> web.Response:
        seen.append(
            {"path": request.path, "headers": dict(request.headers), "body": await request.read()}
        )
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=1 << 30)
    app.router.add_get("/v2/models/{m}/config", config)
    app.router.add_route("*", "/{tail:.*}", anything)
    return app


def infer(count: int) -> bytes:
    data = [1.0] * count
    return json.dumps(
        {"inputs": [{"name": "x", "shape": [1, count], "datatype": "FP32", "data": data}]}
    ).encode()


def run_scenario() -> dict[str, Any]:
    async def scenario() -> dict[str, Any]:
        seen: list[dict[str, Any]] = []
        async with TestServer(fake_triton(seen, max_input_bytes=400)) as upstream:
            guard = application(
                f"127.0.0.1:{upstream.port}", GuardLimits(max_inflated_bytes=1 << 20)
            )
            server = TestServer(guard)
            await server.start_server(auto_decompress=False)  # as app_runner() runs it
            async with TestClient(server) as client:
                out: dict[str, Any] = {"seen": seen}
                ok = await client.post(
                    "/v2/models/m/infer", data=infer(100)
                )  # 400 bytes: the limit
                out["ok"] = ok.status
                big = await client.post("/v2/models/m/infer", data=infer(101))
                out["big"] = (big.status, (await big.json())["error"])
                form = await client.post(
                    "/v2/models/m/infer",
                    data=infer(10),
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
                out["form"] = form.status
                packed = await client.post(
                    "/v2/models/m/infer",
                    data=gzip.compress(infer(10)),
                    headers={"Content-Encoding": "gzip"},
                )
                out["gzip"] = packed.status
                out["gzip_text"] = await packed.text()
                metrics = await client.get("/metrics")
                out["metrics"] = await metrics.text()
                return out

    return asyncio.run(scenario())


def test_the_guard_forwards_checked_requests_and_refuses_the_rest() -> None:
    out = run_scenario()
    assert out["ok"] == 200
    assert (
        out["big"][0] == 400
        and "declare 404 bytes" in out["big"][1]
        and "limit of 400" in out["big"][1]
    )
    assert out["form"] == 200 and out["gzip"] == 200, out["gzip_text"]
    forwarded = out["seen"]
    assert len(forwarded) == 3  # the refused one never reached Triton
    form, packed = forwarded[1], forwarded[2]
    assert "form" not in form["headers"].get("Content-Type", "")  # never a form to Triton
    assert packed["body"] == infer(10) and "Content-Encoding" not in packed["headers"]
    assert (
        'ovtriton_front_requests_refused_total{interface="HTTP guard",reason="too_large"} 1.0'
        in out["metrics"]
    )
