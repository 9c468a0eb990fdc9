"""``ovtriton metadata``: any served model's or pipeline's inputs and outputs (the seed's step 6)."""

from __future__ import annotations

import argparse

from ovtriton.commands import add_connection_options, url_of


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "metadata",
        description="Ask a running server for the metadata of a model or pipeline.",
        epilog="example: ovtriton metadata image_classification_pipeline --protocol http",
    )
    parser.add_argument("name", metavar="NAME", help="model or pipeline name")
    add_connection_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ovtriton.commands import probe

    _, meta = probe.fetch_metadata(url_of(args), args.protocol, args.name)
    print("\n".join(meta.lines()))
    return 0
