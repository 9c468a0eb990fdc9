"""Running the TFS front: its gRPC and REST servers on one asyncio loop in a background thread."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Optional

from aiohttp import web

from ovtriton.tfs import heap
from ovtriton.tfs.admission import Admission
from ovtriton.tfs.grpc_front import start_grpc
from ovtriton.tfs.images import ImageDecoder
from ovtriton.tfs.metrics import FrontMetrics
from ovtriton.tfs.passthrough import GuardLimits, app_runner
from ovtriton.tfs.rest_front import RestFront
from ovtriton.tfs.reloader import Reloader
from ovtriton.tfs.service import TfsService
from ovtriton.tfs.triton import TritonLink

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrontConfig:
    """Where the front listens (OVMS's ``--port``/``--rest_port``) and the Triton it fronts."""

    host: str
    grpc_port: Optional[int]
    rest_port: Optional[int]
    triton_grpc: str  # host:port of Triton's gRPC
    triton_http: str  # host:port of Triton's HTTP
    triton_metrics: Optional[str] = None  # URL of Triton's metrics (http://host:port/metrics)
    # Headers for Triton's restricted APIs (repository index), e.g. serve's admin header.
    triton_headers: tuple[tuple[str, str], ...] = ()
    # ``serve --config``'s reload (POST /v1/config/reload, END for removed models); None when
    # a Triton repository is served.
    reload: Optional[Reloader] = None
    # Tensors to and from Triton through system shared memory (shm_pool.py) instead of a
    # second gRPC copy; needs triton_headers to carry the admin key if registration is
    # restricted.
    shared_memory: bool = False
    # What one request may declare and carry (REST /v2 and TFS), and the bytes in flight
    # both ports may hold together (beyond it requests wait, then get 429/RESOURCE_EXHAUSTED).
    limits: GuardLimits = GuardLimits()
    admission: Admission = Admission()


class TfsFront:
    """The TFS (and KServe) API on OVMS's ports, forwarding to a running Triton."""

    def __init__(self, config: FrontConfig) -> None:
        self.config = config
        self.metrics = FrontMetrics()
        self._thread: Optional[threading.Thread] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop: Optional[asyncio.Event] = None
        self._started = threading.Event()
        self._error: Optional[BaseException] = None

    def start(self, timeout: float = 30.0) -> None:
        """Start both servers; raises if a port cannot be bound."""
        heap.keep_freed_buffers()  # each request's tensor buffers are reused, not faulted in
        self._thread = threading.Thread(target=self._run, name="tfs-front", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError(f"the TFS front did not start within {timeout} s")
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported by start(), or logged once started
            if not self._started.is_set():
                self._error = error
                self._started.set()
            else:
                LOGGER.exception("the TFS front stopped")

    async def _main(self) -> None:
        config = self.config
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        triton = TritonLink(config.triton_grpc, config.triton_headers, config.shared_memory)
        await triton.open()
        budget = config.admission.budget()
        service = TfsService(
            triton, config.reload, ImageDecoder(), budget, config.limits.max_input_bytes
        )
        grpc_server = None
        runner: Optional[web.AppRunner] = None
        try:
            if config.grpc_port is not None:
                address = f"{config.host}:{config.grpc_port}"
                grpc_server = await start_grpc(address, service, self.metrics)
            if config.rest_port is not None:
                rest = RestFront(
                    service,
                    self.metrics,
                    config.triton_http,
                    config.triton_metrics,
                    config.limits,
                    budget,
                )
                runner = app_runner(rest.app)
                await runner.setup()
                await web.TCPSite(runner, config.host, config.rest_port).start()
                LOGGER.info("TFS + KServe REST front on %s:%s", config.host, config.rest_port)
            self._started.set()
            await self._stop.wait()
        finally:
            if runner is not None:
                await runner.cleanup()
            if grpc_server is not None:
                await grpc_server.stop(grace=1)
            await triton.close()
            service.images.close()
