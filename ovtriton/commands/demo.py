"""``ovtriton demo``: the seed's image-classification ensemble end to end, in one command."""

from __future__ import annotations

import argparse
from pathlib import Path

import ovtriton
from ovtriton.commands.serve import add_server_options
from ovtriton.errors import UserError
from ovtriton.seed import photos
from ovtriton.seed.demo import DemoPaths, run_demo
from ovtriton.server.process import Ports

# The example beside the sources: <checkout>/model_repository/config.json.
DEFAULT_CONFIG = (
    Path(ovtriton.__file__).resolve().parent.parent / "model_repository" / "config.json"
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the seed's image-classification ensemble end to end",
        description="Build the models if absent, convert the OVMS config with `ovtriton "
        "convert`, start tritonserver with tracing, classify the seed's photos over gRPC and "
        "HTTP, show the pipeline metadata and the timeline of every request's steps (text and "
        "PNG), stop the server. Arguments after `--` go to tritonserver unchanged.",
        epilog="examples:\n  ovtriton demo\n  ovtriton demo --http-port 9000 --grpc-port 9001 "
        "--metrics-port 9002\n  ovtriton demo --config my/config.json --output-dir /tmp/seed",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        metavar="JSON",
        help=f"OVMS config.json of the pipeline (default {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the converted repository (DIR/triton) and the photos, trace "
        "and timeline (DIR/demo) go (default: the config's folder)",
    )
    parser.add_argument(
        "--resize",
        choices=photos.RESIZE_METHODS,
        default="crop",
        help="how the photos become 224x224: crop (default) or squash",
    )
    add_server_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = args.config.resolve()
    if not config.is_file():
        raise UserError(
            f"{config} does not exist; pass the pipeline's OVMS config.json with --config"
        )
    output = (args.output_dir or config.parent).resolve()
    run_demo(
        DemoPaths(config, output),
        host=args.host,
        ports=Ports(args.http_port, args.grpc_port, args.metrics_port),
        extra_args=tuple(args.passthrough),
        resize=args.resize,
        say=print,
    )
    return 0
