"""One module per ``ovtriton`` subcommand; here the options several of them share, spelled once.

Loaded with whichever subcommand runs, so it imports nothing heavy (no tritonclient, no OpenVINO).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ovtriton.client import PROTOCOLS
from ovtriton.seed.photos import RESIZE_METHODS

DEFAULT_URLS = {"grpc": "127.0.0.1:8001", "http": "127.0.0.1:8000"}


def add_seed_options(parser: argparse.ArgumentParser, workdir: Path | None, what: str) -> None:
    """``--config`` (default: the shipped seed) and ``--workdir`` (``what`` goes there)."""
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="JSON",
        help="an OVMS config.json whose models are built beside it (default: the seed's, "
        "copied with its model repository into WORKDIR/model_repository, models built there)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=workdir,
        metavar="DIR",
        help=f"{what} (default: {workdir or 'a temporary folder'})",
    )


def add_resize_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--resize",
        choices=RESIZE_METHODS,
        default="crop",
        help="how photos become 224x224: crop (shorter side 256, centre 224; default) or squash",
    )


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--protocol", choices=PROTOCOLS, default="grpc", help="gRPC (default) or HTTP/REST"
    )
    parser.add_argument(
        "--url",
        default=None,
        help="server address HOST:PORT (default 127.0.0.1:8001 for gRPC, 127.0.0.1:8000 for HTTP)",
    )


def url_of(args: argparse.Namespace) -> str:
    return str(args.url) if args.url else DEFAULT_URLS[args.protocol]


def port(text: str) -> int:
    """argparse type: a TCP port number (1-65535)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (1-65535)")
    return value


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """The network options shared by every command that starts a server."""
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; 0.0.0.0 exposes the server)",
    )
    parser.add_argument(
        "--http-port", type=port, default=8000, help="HTTP/REST port (default 8000)"
    )
    parser.add_argument("--grpc-port", type=port, default=8001, help="gRPC port (default 8001)")
    parser.add_argument(
        "--metrics-port", type=port, default=8002, help="Prometheus metrics port (default 8002)"
    )
