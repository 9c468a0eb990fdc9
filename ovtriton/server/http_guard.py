"""The HTTP guard: Triton's HTTP port seen from outside, with what tritonserver 2.51 cannot survive
kept out (``ovtriton.tfs.passthrough``: JSON depth, declared shapes, inflating, bytes in flight).

``serve`` binds tritonserver's HTTP to loopback on a spare port and runs this guard on the
address and port the operator chose whenever that address is not loopback (``--http-guard
auto``), or always (``on``). The Docker entrypoint runs it as ``python -m
ovtriton.server.http_guard --listen 0.0.0.0:8000 --upstream 127.0.0.1:18000``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional, Sequence

from aiohttp import web

from ovtriton.tfs.metrics import FrontMetrics
from ovtriton.tfs.admission import DEFAULT_BUDGET, DEFAULT_WAIT, Admission
from ovtriton.server.guard import die_with_parent
from ovtriton.server.ports import Ports
from ovtriton.tfs.passthrough import GuardedPassthrough, GuardLimits, app_runner

LOGGER = logging.getLogger(__name__)
LOOPBACK = ("127.0.0.1", "localhost", "::1")
GUARD_INTERFACE = "HTTP guard"  # the interface label of the guard's refusals
PASSTHROUGH = web.AppKey("passthrough", GuardedPassthrough)


def wanted(mode: str, host: str) -> bool:
    """Whether ``--http-guard MODE`` puts the guard in front for a server bound to ``host``."""
    return mode == "on" or (mode == "auto" and host not in LOOPBACK)


@dataclass
class HttpEntrance:
    """Where tritonserver's HTTP listens, and the guard in front of it when ``mode`` wants one
    ("auto": when the host is not loopback; "on": always; "off": never)."""

    mode: str = "auto"
    admission: Admission = Admission()  # also the TFS front's (serve --max-inflight-bytes)
    upstream_port: Optional[int] = None
    guard: Optional["HttpGuard"] = field(default=None, repr=False)

    @property
    def refusals(self) -> Optional[Counter]:
        """The running guard's refusals by reason (for serve's front's /metrics)."""
        app = self.guard.app if self.guard is not None else None
        return app[PASSTHROUGH].refusals if app is not None else None

    @property
    def upstream(self) -> str:
        """tritonserver's loopback HTTP address behind the guard ("" without a guard)."""
        return f"127.0.0.1:{self.upstream_port}" if self.upstream_port else ""

    def prepare(self, host: str) -> None:
        """Choose tritonserver's loopback port (before it starts)."""
        self.upstream_port = Ports.free("127.0.0.1").http if wanted(self.mode, host) else None

    def flags(self, host: str, port: int) -> list[str]:
        if self.upstream_port:
            return ["--http-address=127.0.0.1", f"--http-port={self.upstream_port}"]
        return [f"--http-address={host}", f"--http-port={port}"]

    def start(self, host: str, port: int) -> None:
        """Start the guard on ``host:port`` (once tritonserver answers)."""
        if self.upstream_port:
            self.guard = HttpGuard(host, port, self.upstream, admission=self.admission).start()

    def stop(self) -> None:
        if self.guard is not None:
            self.guard.stop()
            self.guard = None


def add_guard_options(parser: argparse.ArgumentParser) -> None:
    """serve's ``--http-guard``, ``--max-inflight-bytes`` and ``--inflight-wait``."""
    parser.add_argument(
        "--http-guard",
        choices=("auto", "on", "off"),
        default="auto",
        help="put the HTTP guard (JSON depth, declared shapes, inflating, bytes in flight: "
        "what one request can otherwise crash tritonserver 2.51 with) in front of Triton's "
        "HTTP port, tritonserver's own HTTP then on a loopback port. auto (default): when "
        "--host is not loopback; off: UNSAFE beyond loopback",
    )
    parser.add_argument(
        "--max-inflight-bytes",
        type=int,
        default=DEFAULT_BUDGET,
        metavar="N",
        help="bytes of requests the HTTP guard and the TFS front each hold in flight (default "
        "512 MiB); a request that does not fit waits --inflight-wait s, then gets 429 / "
        "RESOURCE_EXHAUSTED; 0: no limit",
    )
    parser.add_argument(
        "--inflight-wait",
        type=float,
        default=DEFAULT_WAIT,
        metavar="S",
        help="seconds a request waits for room within --max-inflight-bytes (default 2; 0: "
        "refuse at once)",
    )


def entrance_from(args: argparse.Namespace) -> HttpEntrance:
    mode = getattr(args, "http_guard", "auto")
    host = getattr(args, "host", "127.0.0.1")
    if mode == "off" and host not in LOOPBACK:
        LOGGER.warning(
            "--http-guard off on %s: one JSON request can crash tritonserver 2.51 "
            "(docs/security.md)",
            host,
        )
    admission = Admission(
        getattr(args, "max_inflight_bytes", DEFAULT_BUDGET),
        getattr(args, "inflight_wait", DEFAULT_WAIT),
    )
    return HttpEntrance(mode, admission)


def application(
    upstream: str, limits: GuardLimits = GuardLimits(), admission: Admission = Admission()
) -> web.Application:
    """The guard's aiohttp application: every path forwarded through the checks."""
    app = web.Application(client_max_size=limits.max_body_bytes)
    metrics = FrontMetrics()
    passthrough = GuardedPassthrough(
        upstream, limits, refusals=metrics.refusals.counter(GUARD_INTERFACE)
    )

    async def exposition(request: web.Request) -> web.Response:
        return web.Response(body=metrics.exposition(), content_type="text/plain")

    async def open_(app: web.Application) -> None:
        passthrough.budget = admission.budget()
        await passthrough.open()

    app.on_startup.append(open_)
    app.on_cleanup.append(passthrough.close)
    # Triton's HTTP port has no /metrics (Triton's are on the metrics port): the guard's own.
    app.router.add_get("/metrics", exposition)
    app.router.add_route("*", "/{tail:.*}", passthrough.forward)
    app[PASSTHROUGH] = passthrough
    return app


class HttpGuard:
    """The guard on ``host:port`` in a background thread (its own asyncio loop)."""

    def __init__(
        self,
        host: str,
        port: int,
        upstream: str,
        limits: GuardLimits = GuardLimits(),
        admission: Admission = Admission(),
    ) -> None:
        self.host, self.port, self.upstream, self.limits = host, port, upstream, limits
        self.admission = admission
        self.app: Optional[web.Application] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop: Optional[asyncio.Event] = None
        self._started = threading.Event()
        self._error: Optional[BaseException] = None
        self._thread: Optional[threading.Thread] = None

    def start(self, timeout: float = 30.0) -> "HttpGuard":
        self._thread = threading.Thread(target=self._run, name="http-guard", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError(f"the HTTP guard did not start within {timeout} s")
        if self._error is not None:
            raise self._error
        return self

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
                LOGGER.exception("the HTTP guard stopped")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.app = application(self.upstream, self.limits, self.admission)
        runner = app_runner(self.app)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
            LOGGER.info(
                "HTTP guard on %s:%s -> tritonserver %s", self.host, self.port, self.upstream
            )
            self._started.set()
            await self._stop.wait()
        finally:
            await runner.cleanup()


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ovtriton.server.http_guard",
        description="Guard tritonserver's HTTP port (JSON depth, declared shapes, inflating).",
    )
    parser.add_argument("--listen", type=_address, required=True, metavar="HOST:PORT")
    parser.add_argument(
        "--upstream", required=True, metavar="HOST:PORT", help="tritonserver's HTTP"
    )
    parser.add_argument(
        "--max-input-bytes",
        type=int,
        default=GuardLimits.max_input_bytes,
        help="limit for models without MAX_INPUT_BYTES (default 256 MiB)",
    )
    parser.add_argument(
        "--max-inflight-bytes", type=int, default=DEFAULT_BUDGET, help="bytes of requests in flight"
    )
    parser.add_argument(
        "--die-with-parent",
        action="store_true",
        help="exit when the parent process (tritonserver, after the entrypoint's exec) exits",
    )
    args = parser.parse_args(argv)
    if args.die_with_parent:
        die_with_parent()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    host, port = args.listen
    guard = HttpGuard(
        host,
        port,
        args.upstream,
        GuardLimits(max_input_bytes=args.max_input_bytes),
        Admission(args.max_inflight_bytes),
    )
    try:
        guard.start()
    except OSError as error:
        LOGGER.error("cannot listen on %s:%s: %s", host, port, error)
        return 1
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    done.wait()
    guard.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
