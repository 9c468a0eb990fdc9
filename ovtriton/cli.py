"""``ovtriton`` command line: one subcommand per module in ``ovtriton.commands``.

Exit codes: 0 success, 1 user error (message, no traceback), 2 usage error (argparse),
3 unexpected error (a bug; the traceback with ``--verbose``), 130 interrupted.

Only the chosen subcommand's module is imported (they pull in OpenVINO, Triton's client,
protobuf), so ``ovtriton --help`` and usage errors stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Callable, Sequence

from ovtriton import __version__
from ovtriton.errors import UserError

LOGGER = logging.getLogger("ovtriton")

# Subcommand -> its one-line help. Each is a module in ovtriton.commands exposing
# add_parser(subparsers) and run(args) -> int.
COMMANDS = {
    "serve": "serve a Triton model repository or an OVMS config with the embedded tritonserver",
    "convert": "turn an OVMS config.json into a Triton model repository",
    "demo": "run the seed's image-classification ensemble end to end",
    "models": "build the seed's models and photos",
    "infer": "classify images with a served model or pipeline and print the seed's statistics",
    "metadata": "show a served model's or pipeline's inputs and outputs",
    "bench": "benchmark a pipeline: in-process OpenVINO vs Triton ensemble vs client chaining",
    "soak": "drive bounded load on loopback; report errors, p50/p99 and memory growth",
    "cluster": "a cluster on this machine: S3 server, serve replicas, nginx; scenarios under load",
}

EPILOG = """examples:
  ovtriton serve --model-repository model_repository
  ovtriton convert config.json -o triton_repo
  ovtriton serve --config config.json --watch
  ovtriton demo --workdir /tmp/seed
  ovtriton infer image_classification_pipeline --protocol http
  ovtriton metadata image_classification_pipeline
  ovtriton models build model_repository
  ovtriton soak --minutes 10 --concurrency 8
  ovtriton cluster --scenario all --json cluster.json
  ovtriton bench --quick --json bench.json --plot bench.png
"""


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not an option), if any."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    return first if first in COMMANDS else None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser; only the subcommand chosen in ``argv`` gets its full options (lazy import)."""
    parser = argparse.ArgumentParser(
        prog="ovtriton",
        description="Serve OpenVINO models and OVMS pipelines on NVIDIA Triton.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ovtriton {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging, tracebacks")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = _chosen(argv)
    for name, summary in COMMANDS.items():
        if name == chosen:
            importlib.import_module(f"ovtriton.commands.{name}").add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in argv:  # everything after `--` goes to tritonserver untouched
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    try:
        args = build_parser(argv).parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else 2
    except KeyboardInterrupt:
        return 130
    args.passthrough = passthrough
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s" if args.verbose else "%(message)s",
    )
    logging.captureWarnings(True)  # Python warnings go through logging: shown once, same format
    return dispatch(args.run, args)


def dispatch(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run ``command``; its outcome becomes the exit code (the CLI's error contract)."""
    try:
        return int(command(args))
    except UserError as exc:
        LOGGER.error("error: %s", exc)
        return 1
    except KeyboardInterrupt:
        LOGGER.error("interrupted")
        return 130
    except Exception as exc:
        LOGGER.error(
            "unexpected error: %s: %s (a bug in ovtriton; %s)",
            type(exc).__name__,
            exc,
            "traceback below" if args.verbose else "run with --verbose for the traceback",
            exc_info=args.verbose,
        )
        return 3


def run() -> None:
    raise SystemExit(main())
