"""``ovtriton`` command line: one subcommand per module in ``ovtriton.commands``.

Exit codes: 0 success, 1 user error (message, no traceback), 2 usage error (argparse),
3 unexpected error (traceback with ``--verbose``), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from ovtriton import __version__
from ovtriton.errors import UserError

LOGGER = logging.getLogger("ovtriton")

# Subcommand name -> module in ovtriton.commands exposing add_parser(subparsers) and run(args) -> int.
COMMANDS = ("serve", "convert", "demo", "models", "infer", "metadata", "bench", "soak")

EPILOG = """examples:
  ovtriton serve --model-repository model_repository/triton
  ovtriton convert config.json -o triton_repo
  ovtriton serve --config config.json --watch
  ovtriton demo
  ovtriton infer image_classification_pipeline --protocol http
  ovtriton metadata image_classification_pipeline
  ovtriton models build model_repository/models
  ovtriton soak --minutes 10 --concurrency 8
  ovtriton bench --quick --json docs/bench/bench.json --plot docs/bench/bench.png
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ovtriton",
        description="Serve OpenVINO models and OVMS pipelines on NVIDIA Triton.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ovtriton {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging, tracebacks")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"ovtriton.commands.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in argv:  # everything after `--` goes to tritonserver untouched
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    args = parser.parse_args(argv)
    args.passthrough = passthrough
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s" if args.verbose else "%(message)s",
    )
    try:
        return int(args.run(args))
    except UserError as exc:
        LOGGER.error("error: %s", exc)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if args.verbose:
            raise
        LOGGER.error(
            "unexpected error: %s: %s (a bug in ovtriton; run with --verbose for the traceback)",
            type(exc).__name__,
            exc,
        )
        return 3


def run() -> None:
    raise SystemExit(main())
