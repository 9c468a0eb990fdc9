"""``ovtriton serve``: run the embedded tritonserver on a Triton model repository."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Optional

from ovtriton.errors import UserError
from ovtriton.server.process import Ports, TritonServer

LOGGER = logging.getLogger(__name__)


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """The network options shared by every command that starts a server."""
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; 0.0.0.0 exposes the server)")
    parser.add_argument("--http-port", type=int, default=8000, help="HTTP/REST port (default 8000)")
    parser.add_argument("--grpc-port", type=int, default=8001, help="gRPC port (default 8001)")
    parser.add_argument("--metrics-port", type=int, default=8002, help="Prometheus metrics port (default 8002)")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve a Triton model repository with the embedded tritonserver",
        description="Start tritonserver (from the nvidia-pytriton wheel) with the openvino_py "
        "backend. Arguments after `--` go to tritonserver unchanged.",
        epilog="example: ovtriton serve --model-repository repo -- --log-verbose=1",
    )
    parser.add_argument("--model-repository", type=Path, required=True, metavar="DIR",
                        help="Triton model repository to serve")
    add_server_options(parser)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where to lay out the backend folder and the server log (default: a temporary folder)")
    parser.set_defaults(run=run)


def server_from_args(args: argparse.Namespace, repository: Path) -> TritonServer:
    return TritonServer(
        repository=repository.resolve(),
        host=args.host,
        ports=Ports(args.http_port, args.grpc_port, args.metrics_port),
        extra_args=tuple(args.passthrough),
        workdir=args.workdir.resolve() if getattr(args, "workdir", None) else None,
    )


def run(args: argparse.Namespace) -> int:
    server = server_from_args(args, args.model_repository)
    with _stop_on_sigterm():
        server.start()
        try:
            report_started(server)
            code = server.wait()
            if code != 0:
                raise UserError(f"tritonserver exited with code {code}:\n{server.log_tail()}")
        except KeyboardInterrupt:
            LOGGER.info("stopping tritonserver ...")
        finally:
            code = server.stop()
    LOGGER.info("tritonserver stopped")
    return 0


def report_started(server: TritonServer) -> None:
    models = server.models()
    for m in models:
        line = f"  {m.name:<32} version {m.version or '-':<4} {m.state}"
        if m.reason:
            line += f": {m.reason}"
        (LOGGER.info if m.state == "READY" else LOGGER.warning)(line)
    failed = [m for m in models if m.state != "READY"]
    LOGGER.info(
        "tritonserver is up: HTTP http://%s  gRPC %s  metrics %s  log %s",
        server.http_url, server.grpc_url, server.metrics_url, server.log_path,
    )
    LOGGER.info(
        "%d model(s) ready%s. Press Ctrl-C to stop.", len(models) - len(failed),
        f", {len(failed)} failed (see above)" if failed else "",
    )


class _stop_on_sigterm:
    """Turn SIGTERM into KeyboardInterrupt so both stop the server the same clean way."""

    def __enter__(self) -> None:
        self._previous = signal.signal(signal.SIGTERM, self._handler)

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGTERM, self._previous)

    @staticmethod
    def _handler(signum: int, frame: Optional[FrameType]) -> None:
        raise KeyboardInterrupt
