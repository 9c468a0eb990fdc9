"""``ovtriton convert``: an OVMS config.json (or YAML) -> a Triton model repository."""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from pathlib import Path

from ovtriton.commands.serve import add_max_input_bytes
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
        "--copy", action="store_true", help="copy the model files (default: hardlink, else symlink)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check and print the plan; write nothing"
    )
    parser.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="read files that symlinks inside a base_path lead to outside it (default: refuse)",
    )
    parser.add_argument(
        "--pipelines",
        choices=("ensemble", "fused"),
        default="ensemble",
        help="each pipeline as a Triton ensemble (default) or as one openvino_py pipeline "
        "model running the whole DAG in one instance (fused)",
    )
    parser.add_argument(
        "--fuse",
        action="append",
        default=[],
        metavar="PIPELINE",
        help="make this pipeline a pipeline model (repeatable; the others follow --pipelines)",
    )
    parser.add_argument(
        "--cores",
        type=_cores,
        default="auto",
        metavar="N",
        help="cores of the serving machine: each model of an ensemble gets N // (branches that "
        "run side by side) OpenVINO threads unless its plugin_config sets them; auto = this "
        "machine's (default), 0 = leave OpenVINO's default",
    )
    add_max_input_bytes(parser)
    parser.set_defaults(run=run)


def _cores(text: str) -> int:
    if text == "auto":
        return (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1
        )
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of cores or auto")
    return int(text)


def run(args: argparse.Namespace) -> int:
    from ovtriton.server import guard
    from ovtriton.storage import is_remote, parse_url
    from ovtriton.storage.publish import check_empty, publish
    from ovtriton.storage.session import localize, named_as

    remote_out = parse_url(args.output) if is_remote(args.output) else None
    if remote_out is not None and not args.dry_run:
        check_empty(remote_out, args.force)  # before converting, which can take minutes
    with tempfile.TemporaryDirectory(prefix=guard.temp_prefix("convert-")) as scratch:
        config, mirror = localize(args.config, Path(scratch) / "storage-cache")
        if mirror is not None:
            args.copy = True  # the repository must outlive the mirror
        with named_as(args.config, config):
            if remote_out is None:
                return _convert(args, config, Path(args.output))
            code = _convert(args, config, Path(scratch) / "repository")
        if code == 0 and not args.dry_run:
            count = publish(Path(scratch) / "repository", remote_out, args.force)
            print(f"uploaded {count} object(s) to {remote_out}")
        return code


def _convert(args: argparse.Namespace, config: Path, output: Path) -> int:
    if args.dry_run:
        result = plan(
            config,
            follow_symlinks=args.follow_symlinks,
            max_input_bytes=args.max_input_bytes,
            pipelines=args.pipelines,
            fuse=frozenset(args.fuse),
            cores=args.cores,
        )
        models, versions, ensembles = result.counts()
        print(
            f"would write {models} model(s) ({versions} version(s)) and {ensembles} "
            f"ensemble(s) to {args.output}:\n{result.describe()}"
        )
        return 0
    summary = convert(
        config,
        output,
        force=args.force,
        copy=args.copy,
        follow_symlinks=args.follow_symlinks,
        max_input_bytes=args.max_input_bytes,
        pipelines=args.pipelines,
        fuse=frozenset(args.fuse),
        cores=args.cores,
    )
    print(summary)
    return 0
