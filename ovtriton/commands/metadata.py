"""``ovtriton metadata``: a model's or pipeline's inputs and outputs, like the seed's step 6."""

from __future__ import annotations

import argparse

from ovtriton.seed import client


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "metadata",
        description="Ask a running server for the metadata of a model or pipeline.",
        epilog="example: ovtriton metadata image_classification_pipeline --protocol http",
    )
    parser.add_argument("name", metavar="NAME", help="model or pipeline name")
    add_connection_options(parser)
    parser.set_defaults(run=run)


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--protocol", choices=client.PROTOCOLS, default="grpc", help="gRPC (default) or HTTP/REST"
    )
    parser.add_argument(
        "--url",
        default=None,
        help="server address HOST:PORT (default 127.0.0.1:8001 for gRPC, 127.0.0.1:8000 for HTTP)",
    )


def url_of(args: argparse.Namespace) -> str:
    if args.url:
        return str(args.url)
    return "127.0.0.1:8001" if args.protocol == "grpc" else "127.0.0.1:8000"


def run(args: argparse.Namespace) -> int:
    connection = client.connect(url_of(args), args.protocol)
    meta = client.metadata(connection, args.protocol, args.name)
    print("\n".join(meta.lines()))
    return 0
