"""``ovtriton convert``: an OVMS config.json (or YAML) -> a Triton model repository."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ovtriton.commands.conversion import add_conversion_options, conversion_options
from ovtriton.converter import convert, plan

LOGGER = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert",
        description="Convert an OpenVINO Model Server config (JSON, or YAML with the same "
        "structure) into a Triton model repository: models for the openvino_py backend, "
        "pipelines as ensembles. The whole config is checked first; every problem is "
        "reported with its JSON path and nothing is written unless all is well.",
        epilog="exit codes: 0 written, 1 invalid config or output, 2 usage error\n"
        "examples:\n  ovtriton convert models/config.json -o triton_repo\n"
        "  ovtriton convert config.yaml -o triton_repo --force --copy\n"
        "  ovtriton convert config.json -o triton_repo --dry-run",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("config", type=Path, metavar="CONFIG", help="OVMS config.json or .yaml")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="REPO",
        help="model repository folder to create",
    )
    parser.add_argument("--force", action="store_true", help="replace REPO if it is not empty")
    parser.add_argument(
        "--dry-run", action="store_true", help="check and print the plan; write nothing"
    )
    add_conversion_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    options = conversion_options(args)
    if args.dry_run:
        result = plan(args.config, options=options)
        models, versions, ensembles = result.counts()
        print(
            f"would write {models} model(s) ({versions} version(s)) and {ensembles} "
            f"ensemble(s) to {args.output}:\n{result.describe()}"
        )
        return 0
    print(convert(args.config, args.output, options=options, force=args.force))
    return 0
