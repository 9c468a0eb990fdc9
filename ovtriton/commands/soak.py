"""``ovtriton soak``: steady load on the embedded server; fails on any error or memory growth."""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict
from pathlib import Path

from ovtriton.commands import PROTOCOLS
from ovtriton.errors import UserError
from ovtriton.reliability.soak import DEFAULT_MODEL, Interval, SoakSettings, run_soak

LOGGER = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "soak",
        description="Start the embedded tritonserver (with a built-in y = 2x model, or a given "
        "repository and model), send requests from CONCURRENCY client threads for MINUTES, and "
        "print per interval: requests, errors, p50/p99 latency, resident memory of tritonserver "
        "plus its stubs. Exits 1 when any request failed or memory grew by more than "
        "--max-growth percent between the end of the warm-up and the end.",
        epilog="examples:\n  ovtriton soak\n  ovtriton soak --minutes 1 --concurrency 8 --json soak.json\n"
        "  ovtriton soak --model-repository repo --model my_model --protocol http",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="length (default 10)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument(
        "--interval",
        type=float,
        default=None,
        help="seconds per reported interval (default: length / 20, at least 5)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=None,
        help="seconds before the memory baseline (default: 20%% of the length, at most 60)",
    )
    parser.add_argument(
        "--protocol", choices=PROTOCOLS, default="grpc", help="gRPC (default) or HTTP"
    )
    parser.add_argument(
        "--model-repository",
        type=Path,
        default=None,
        metavar="DIR",
        help="a Triton repository to serve (default: a built-in model)",
    )
    parser.add_argument(
        "--model",
        default=None,
        help=f"model to load (default {DEFAULT_MODEL}; required with --model-repository)",
    )
    parser.add_argument(
        "--max-growth",
        type=float,
        default=5.0,
        metavar="PERCENT",
        help="allowed resident-memory growth after the warm-up (default 5)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the report as JSON")
    parser.set_defaults(run=run)


def settings_from_args(args: argparse.Namespace) -> SoakSettings:
    if args.minutes <= 0 or args.concurrency < 1:
        raise UserError("--minutes must be > 0 and --concurrency >= 1")
    if args.model_repository is not None and not args.model:
        raise UserError("--model-repository needs --model (which model to load)")
    seconds = args.minutes * 60
    return SoakSettings(
        minutes=args.minutes,
        concurrency=args.concurrency,
        interval=args.interval or max(5.0, seconds / 20),
        warmup=args.warmup if args.warmup is not None else min(60.0, seconds / 5),
        protocol=args.protocol,
        repository=args.model_repository.resolve() if args.model_repository else None,
        model=args.model or DEFAULT_MODEL,
        max_growth_percent=args.max_growth,
    )


def _print_interval(interval: Interval) -> None:
    LOGGER.info(
        "%7.1f s  %7d requests  %4d errors  p50 %7.2f ms  p99 %7.2f ms  rss %8.1f MiB (%d processes)",
        interval.end_seconds,
        interval.requests,
        interval.errors,
        interval.p50_ms,
        interval.p99_ms,
        interval.rss_mib,
        interval.processes,
    )


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    LOGGER.info(
        "soak: %s, %.1f min, concurrency %d, %s",
        settings.model,
        settings.minutes,
        settings.concurrency,
        settings.protocol,
    )
    report = run_soak(settings, _print_interval)
    if args.json:
        data = {**asdict(report), "passed": report.passed}
        args.json.write_text(json.dumps(data, indent=2, default=str) + "\n")
    LOGGER.info(
        "soak %s: %d requests, %d errors, memory %.1f MiB after warm-up -> %.1f MiB at the end "
        "(%+.2f %%, limit %.1f %%)",
        "passed" if report.passed else "FAILED",
        report.requests,
        report.errors,
        report.rss_after_warmup_mib,
        report.rss_end_mib,
        report.growth_percent,
        settings.max_growth_percent,
    )
    for problem in report.first_errors:
        LOGGER.error("  %s", problem)
    return 0 if report.passed else 1
