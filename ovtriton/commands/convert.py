"""``ovtriton convert``: an OVMS config.json (or YAML) -> a Triton model repository."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import tempfile
from pathlib import Path

from ovtriton.commands.conversion import add_conversion_options, conversion_options
from ovtriton.converter import ConversionOptions, convert, plan

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
    parser.add_argument(
        "config", metavar="CONFIG", help="OVMS config.json or .yaml: a path or s3://, gs://, az://"
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="REPO",
        help="model repository to create: a folder, or s3://bucket/prefix, gs://…, az://… "
        "(each model appears whole: its config.pbtxt is uploaded after its version folders)",
    )
    parser.add_argument("--force", action="store_true", help="replace REPO if it is not empty")
    parser.add_argument(
        "--dry-run", action="store_true", help="check and print the plan; write nothing"
    )
    add_conversion_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ovtriton.server import guard
    from ovtriton.storage import is_remote, parse_url
    from ovtriton.storage.publish import check_empty, publish
    from ovtriton.storage.session import localize, named_as

    options = conversion_options(args)
    remote_out = parse_url(args.output) if is_remote(args.output) else None
    if remote_out is not None and not args.dry_run:
        check_empty(remote_out, args.force)  # before converting, which can take minutes
    with tempfile.TemporaryDirectory(prefix=guard.temp_prefix("convert-")) as scratch:
        config, mirror = localize(args.config, Path(scratch) / "storage-cache")
        if mirror is not None:  # the repository must outlive the mirror
            options = dataclasses.replace(options, copy=True)
        with named_as(args.config, config):
            if remote_out is None:
                return _convert(args, options, config, Path(args.output))
            code = _convert(args, options, config, Path(scratch) / "repository")
        if code == 0 and not args.dry_run:
            count = publish(Path(scratch) / "repository", remote_out, args.force)
            print(f"uploaded {count} object(s) to {remote_out}")
        return code


def _convert(
    args: argparse.Namespace, options: ConversionOptions, config: Path, output: Path
) -> int:
    if args.dry_run:
        result = plan(config, options=options)
        models, versions, ensembles = result.counts()
        print(
            f"would write {models} model(s) ({versions} version(s)) and {ensembles} "
            f"ensemble(s) to {args.output}:\n{result.describe()}"
        )
        return 0
    print(convert(config, output, options=options, force=args.force))
    return 0
