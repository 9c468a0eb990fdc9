"""``ovtriton demo``: the seed's image-classification ensemble end to end, in one command."""

from __future__ import annotations

import argparse
from pathlib import Path

from ovtriton.commands import add_resize_option, add_seed_options
from ovtriton.commands.conversion import add_conversion_options, conversion_options
from ovtriton.commands import add_server_options, port
from ovtriton.errors import UserError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        description="Build the models if absent, convert the OVMS config with `ovtriton "
        "convert`, start tritonserver with tracing, classify the seed's photos over gRPC and "
        "HTTP (tritonclient) and over the TFS API on OVMS-style ports (as the seed's "
        "clients), show the timeline of every request's steps (text and PNG) and the pipeline "
        "metadata (both APIs), stop the server. Arguments after `--` go to tritonserver unchanged.",
        epilog="examples:\n  ovtriton demo\n  ovtriton demo --http-port 9000 --grpc-port 9001 "
        "--metrics-port 9002\n  ovtriton demo --config my/config.json --workdir /tmp/seed",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_seed_options(
        parser,
        Path("ovtriton-demo"),
        "the seed's repository, the converted one (DIR/triton), "
        "the photos, trace and timeline (DIR/demo)",
    )
    add_resize_option(parser)
    add_server_options(parser)
    for flag, what in (("--port", "gRPC"), ("--rest_port", "REST")):
        parser.add_argument(
            flag,
            type=port,
            default=None,
            help=f"OVMS's {what} port, where the TFS (and KServe) front answers the seed's "
            "TFS clients (default: a free port)",
        )
    add_conversion_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ovtriton.seed import repository
    from ovtriton.seed.demo import DemoPaths, run_demo
    from ovtriton.server.process import Ports

    workdir = args.workdir.resolve()
    if args.config is None:
        config = repository.copy_to(workdir / "model_repository")
    else:
        config = args.config.resolve()
        if not config.is_file():
            raise UserError(
                f"{config} does not exist; pass the pipeline's OVMS config.json with --config"
            )
    run_demo(
        DemoPaths(config, workdir),
        host=args.host,
        ports=Ports(args.http_port, args.grpc_port, args.metrics_port),
        extra_args=tuple(args.passthrough),
        resize=args.resize,
        say=print,
        ovms_ports=(args.port, args.rest_port),
        options=conversion_options(args),
    )
    return 0
