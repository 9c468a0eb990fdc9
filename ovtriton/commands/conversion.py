"""The conversion flags, registered once for every command that converts an OVMS config
(``convert``, ``serve --config``/``--config_path``/``--watch``, ``demo``, ``bench``), and read
back into one ``ConversionOptions`` (``converter/options.py``). Light: no OpenVINO, no protobuf.
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the converter package loads OpenVINO: only when converting
    from ovtriton.converter.options import ConversionOptions

PIPELINE_FORMS = ("ensemble", "model")  # converter/options.py checks the same
SCHEDULES = ("auto", "measured", "even")  # converter/options.py checks the same
DEPRECATED_FORMS = ("fused",)  # the old spelling of "model", still accepted with a warning

LOGGER = logging.getLogger(__name__)


class DeprecatedAppend(argparse._AppendAction):
    """An old flag name kept for users' scripts: appends as its new name does, with a warning."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        LOGGER.warning("%s is deprecated; write --pipeline-model %s", option_string, values)
        super().__call__(parser, namespace, values, option_string)


def _cores(text: str) -> int | None:
    if text == "auto":
        return None
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of cores or auto")
    return int(text)


def _size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a byte count (0 or more)")
    return value


def add_conversion_options(
    parser: argparse.ArgumentParser, *, pipeline_form: bool = True, when: str = ""
) -> None:
    """Add the conversion flags to ``parser``. ``pipeline_form=False`` leaves out
    ``--pipelines``/``--pipeline-model`` (``bench`` builds both forms itself); ``when`` prefixes each
    help text (``"with --config: "``)."""
    group = parser.add_argument_group(
        "conversion", "how the OVMS config becomes a Triton repository (the same flags, "
        "defaults and result for convert, serve --config, --config_path, demo and bench)",
    )  # fmt: skip
    group.add_argument(
        "--copy",
        action="store_true",
        help=f"{when}copy the model files (default: hardlink, else symlink)",
    )
    group.add_argument(
        "--follow-symlinks",
        action="store_true",
        help=f"{when}read files that symlinks inside a base_path lead to outside it "
        "(default: refuse)",
    )
    if pipeline_form:
        group.add_argument(
            "--pipelines",
            choices=PIPELINE_FORMS + DEPRECATED_FORMS,
            default=PIPELINE_FORMS[0],
            help=f"{when}each pipeline as a Triton ensemble (default) or as one openvino_py "
            "pipeline model running the whole DAG in one instance (model; 'fused' is its "
            "deprecated spelling). Pipelines with custom nodes or demultiplexing are always "
            "pipeline models",
        )
        group.add_argument(
            "--pipeline-model",
            action="append",
            default=[],
            dest="pipeline_models",
            metavar="PIPELINE",
            help=f"{when}make this pipeline a pipeline model (repeatable; the others follow "
            "--pipelines)",
        )
        group.add_argument(
            "--fuse",
            action=DeprecatedAppend,
            dest="pipeline_models",
            metavar="PIPELINE",
            help=f"{when}deprecated spelling of --pipeline-model",
        )
    group.add_argument(
        "--cores",
        type=_cores,
        default=None,
        metavar="N",
        help=f"{when}cores of the serving machine: each model of an ensemble gets N // "
        "(branches that run side by side) OpenVINO threads unless its plugin_config sets "
        "them; auto = this machine's (default), 0 = leave OpenVINO's default",
    )
    group.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default=SCHEDULES[0],
        help=f"{when}how the cores are shared by the nodes of a pipeline: auto (default) = "
        "pipeline models time their nodes when they load and give a slow branch more threads "
        "(or run the nodes one after another), ensembles get N // (branches that run side by "
        "side) each, so the repository is the same on every run; measured = ensembles' models "
        "are timed at conversion too (the budgets then depend on the converting machine's "
        "timings); even = the even split everywhere",
    )
    group.add_argument(
        "--max-input-bytes",
        type=_size,
        metavar="N",
        help=f"{when}MAX_INPUT_BYTES written for models with dynamic input dims (default: the "
        "largest request their shape ranges allow, else 268435456 = 256 MiB; 0: no limit)",
    )


def conversion_options(args: argparse.Namespace) -> ConversionOptions:
    """The ``ConversionOptions`` the flags of ``add_conversion_options`` ask for."""
    from ovtriton.converter.options import ConversionOptions

    return ConversionOptions(
        cores=args.cores,
        pipeline_form=getattr(args, "pipelines", PIPELINE_FORMS[0]),
        pipeline_models=frozenset(getattr(args, "pipeline_models", ())),
        max_input_bytes=args.max_input_bytes,
        follow_symlinks=args.follow_symlinks,
        copy=args.copy,
        schedule=args.schedule,
    )


def conversion_flags_given(args: argparse.Namespace) -> list[str]:
    """The conversion flags set to something other than their default (light: no import)."""
    given = {
        "--copy": args.copy,
        "--follow-symlinks": args.follow_symlinks,
        "--pipelines": getattr(args, "pipelines", PIPELINE_FORMS[0]) != PIPELINE_FORMS[0],
        "--pipeline-model": bool(getattr(args, "pipeline_models", ())),
        "--cores": args.cores is not None,
        "--max-input-bytes": args.max_input_bytes is not None,
        "--schedule": args.schedule != SCHEDULES[0],
    }
    return [flag for flag, set_ in given.items() if set_]
