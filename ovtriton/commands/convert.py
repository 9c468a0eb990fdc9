"""``ovtriton convert``: an OVMS config.json (or YAML) -> a Triton model repository."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from ovtriton.commands.serve import add_max_input_bytes
from ovtriton.converter import convert, plan
from ovtriton.converter.thread_budgets import MEASURED, SCHEDULES

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
        choices=("ensemble", "model", "fused"),
        default="ensemble",
        help="each pipeline as a Triton ensemble (default) or as a pipeline model: one "
        "openvino_py model running the whole DAG in one instance (model; 'fused' is its "
        "deprecated spelling). Pipelines with custom nodes or demultiplexing are always "
        "pipeline models",
    )
    parser.add_argument(
        "--pipeline-model",
        action="append",
        default=[],
        dest="fuse",
        metavar="PIPELINE",
        help="make this pipeline a pipeline model (repeatable; the others follow --pipelines)",
    )
    parser.add_argument(
        "--fuse",
        action=DeprecatedAppend,
        dest="fuse",
        metavar="PIPELINE",
        help="deprecated spelling of --pipeline-model",
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
    parser.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default=MEASURED,
        help="how --cores are shared by the models of an ensemble: measured = time each model "
        "with the thread counts that fit and give a slow branch more (default), even = N // "
        "(branches that run side by side) each",
    )
    add_max_input_bytes(parser)
    parser.set_defaults(run=run)


class DeprecatedAppend(argparse._AppendAction):
    """An old flag name kept for users' scripts: appends as its new name does, with a warning."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        LOGGER.warning("%s is deprecated; write --pipeline-model %s", option_string, values)
        super().__call__(parser, namespace, values, option_string)


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
    if args.dry_run:
        result = plan(
            args.config,
            follow_symlinks=args.follow_symlinks,
            max_input_bytes=args.max_input_bytes,
            pipelines=args.pipelines,
            fuse=frozenset(args.fuse),
            cores=args.cores,
            schedule=args.schedule,
        )
        models, versions, ensembles = result.counts()
        print(
            f"would write {models} model(s) ({versions} version(s)) and {ensembles} "
            f"ensemble(s) to {args.output}:\n{result.describe()}"
        )
        return 0
    summary = convert(
        args.config,
        args.output,
        force=args.force,
        copy=args.copy,
        follow_symlinks=args.follow_symlinks,
        max_input_bytes=args.max_input_bytes,
        pipelines=args.pipelines,
        fuse=frozenset(args.fuse),
        cores=args.cores,
        schedule=args.schedule,
    )
    print(summary)
    return 0
