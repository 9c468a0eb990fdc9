"""``ovtriton bench``: the pipeline in process, as a Triton ensemble, and chained by the client."""

from __future__ import annotations

import argparse
from pathlib import Path

from ovtriton.commands import add_seed_options
from ovtriton.errors import UserError


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of integers"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every value must be >= 1")
    return values


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        description="Convert the OVMS config, start tritonserver and measure, interleaved in one "
        "run: (a) the pipeline in process with OpenVINO (branches in parallel), (b) the Triton "
        "ensemble over gRPC, HTTP and gRPC + system shared memory, (c) client-side chaining (one "
        "gRPC request per model). Also: each branch on one OpenVINO thread, and the converter's "
        "speed on 200 models + 100 pipelines. Prints p50/p90/p99, throughput, CPU use, the ratios "
        "(b)/(a) and (c)/(b) and the targets they are held to.",
        epilog="examples:\n  ovtriton bench --quick\n  ovtriton bench --json docs/bench/bench.json "
        "--plot docs/bench/bench.png\n  ovtriton bench --config my/config.json --pipeline my_pipe "
        "--concurrency 1,4 --batch 1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_seed_options(parser, None, "the seed's models, the converted repository and the server log")
    parser.add_argument(
        "--pipeline",
        default="image_classification_pipeline",
        help="pipeline name in the config (default %(default)s)",
    )
    parser.add_argument(
        "--concurrency",
        type=_ints,
        default=(1, 2, 4, 8, 16),
        metavar="N,N",
        help="client concurrencies (default 1,2,4,8,16)",
    )
    parser.add_argument(
        "--batch", type=_ints, default=(1, 8), metavar="B,B", help="batch sizes (default 1,8)"
    )
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3)")
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="S",
        help="seconds per cell and round (default 3)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one round of 0.6 s per cell (under two minutes on 2 cores)",
    )
    parser.add_argument(
        "--skip-one-thread",
        dest="one_thread",
        action="store_false",
        help="skip the one-thread-per-branch check",
    )
    parser.add_argument(
        "--skip-converter",
        dest="converter",
        action="store_false",
        help="skip timing the converter",
    )
    parser.add_argument(
        "--converter-only",
        action="store_true",
        help="only time the converter (200 models, 100 pipelines); no server, no pipeline",
    )
    parser.add_argument(
        "--tfs",
        action="store_true",
        help="instead: the TFS front (OVMS's --port) against Triton's own gRPC, interleaved: "
        "TFS Predict, KServe through the front and KServe on Triton's port, p50 at "
        "concurrency 1 and throughput at concurrency 8, with the goals (<= 1.15 x, >= 0.90 x)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON")
    parser.add_argument("--plot", type=Path, metavar="PATH", help="write latency/throughput PNG")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ovtriton.bench import report
    from ovtriton.bench.converter_speed import time_converter
    from ovtriton.bench.run import BenchOptions, run_bench

    if args.converter_only:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="ovtriton-bench-") as tmp:
            timing = time_converter(Path(tmp) / "converter")
        print(
            f"converter: {timing.models} models + {timing.pipelines} pipelines in "
            f"{timing.total_s:.2f} s: reading models {timing.reading_s:.2f} s, the rest "
            f"{timing.rest_s:.2f} s (target <= 3 s)"
        )
        return 0
    config = args.config.resolve() if args.config else None
    if config is not None and not config.is_file():
        raise UserError(f"{config} does not exist; pass an OVMS config.json with --config")
    rounds = args.rounds or (1 if args.quick else 3)
    duration = args.duration or (0.6 if args.quick else 3.0)
    if rounds < 1 or duration <= 0:
        raise UserError("--rounds must be >= 1 and --duration > 0")
    if args.tfs:
        return _tfs(args, config, rounds, duration)
    options = BenchOptions(
        config,
        args.pipeline,
        tuple(sorted(set(args.concurrency))),
        tuple(sorted(set(args.batch))),
        rounds,
        duration,
        one_thread=args.one_thread,
        converter=args.converter,
        work=args.workdir.resolve() if args.workdir else None,
    )
    result = run_bench(options, say=print)
    print(report.text(result))
    if args.json:
        report.write_json(result, args.json)
    if args.plot:
        report.write_plot(
            result.cells, args.plot, f"{args.pipeline} ({result.machine['nproc']} cores)"
        )
    return 0


def _tfs(args: argparse.Namespace, config: Path | None, rounds: int, duration: float) -> int:
    import json

    from ovtriton.tfs.bench_front import run_front_bench

    work = args.workdir.resolve() if args.workdir else None
    result = run_front_bench(config, args.pipeline, rounds, duration, work=work, say=print)
    print("\n".join(result.lines()))
    if args.json:
        cells = [c.to_dict() for c in result.cells]
        ratios = {"p50_c1": result.latency[1], "throughput_c8": result.throughput[1]}
        args.json.write_text(json.dumps({"cells": cells, "ratios": ratios}, indent=1))
    return 0
