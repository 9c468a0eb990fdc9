"""``ovtriton bench``: a pipeline in process, as a Triton ensemble, as a pipeline model, against
Triton's floor, and chained by the client; on the seed and on small and heavy generated workloads."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from ovtriton.commands import add_seed_options
from ovtriton.commands.conversion import add_conversion_options, conversion_options
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


WORKLOADS = ("seed", "small", "heavy")


def _workloads(text: str) -> tuple[str, ...]:
    values = tuple(dict.fromkeys(v.strip() for v in text.split(",")))
    unknown = [v for v in values if v not in WORKLOADS]
    if unknown or not values:
        raise argparse.ArgumentTypeError(f"{text!r}: workloads are {', '.join(WORKLOADS)}")
    return values


def _generated(name: str, work: Path) -> tuple[Path, str]:
    """A generated workload's OVMS config (written under ``work``) and its pipeline."""
    if name == "small":
        from ovtriton.bench import small

        return small.write_small_workload(work / "small" / "ovms"), small.PIPELINE
    from ovtriton.bench import heavy

    return heavy.write_heavy_workload(work / "heavy" / "ovms"), heavy.PIPELINE


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        description="Convert the OVMS config, start tritonserver and measure, interleaved in one "
        "run: (a) the pipeline in process with OpenVINO in several thread configurations (the "
        "best is the limit), (b) the Triton ensemble over gRPC, HTTP and gRPC + system shared "
        "memory, the pipeline model (convert --pipelines model) over gRPC and HTTP, Triton's "
        "floor (a zero-compute model and a zero-compute ensemble with the same tensors), (c) "
        "client-side chaining. Every mode must answer the same outputs. Also: each branch on one "
        "OpenVINO thread, and the converter's speed on 200 models + 100 pipelines. Prints "
        "p50/p90/p99, throughput, CPU ms per inference (server + stubs + client), the ratios and "
        "the targets they are held to.",
        epilog="examples:\n  ovtriton bench --quick\n  ovtriton bench --json docs/bench/bench.json "
        "--plot docs/bench/bench.png\n  ovtriton bench --config my/config.json --pipeline my_pipe "
        "--concurrency 1,4 --batch 1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_seed_options(parser, None, "the seed's models, the converted repository and the server log")
    parser.add_argument(
        "--pipeline",
        default="image_classification_pipeline",
        help="pipeline name in --config (default %(default)s)",
    )
    parser.add_argument(
        "--workload",
        type=_workloads,
        default=None,
        metavar="W,W",
        help="without --config: seed (EfficientNet-Lite0/1 + argmax), small (two small conv "
        "classifiers + argmax, generated) and/or heavy (a ResNet-50-shaped classifier, 4.1 G "
        "multiply-adds, + argmax, generated), one after the other (default seed,small,heavy; "
        "with --tfs: one of them, default seed)",
    )
    parser.add_argument(
        "--concurrency",
        type=_ints,
        default=None,
        metavar="N,N",
        help="client concurrencies (default 1,2,4,8,16; with --quick 1,4)",
    )
    parser.add_argument(
        "--batch",
        type=_ints,
        default=None,
        metavar="B,B",
        help="batch sizes (default 1,8; with --quick 1)",
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
        help="one round of 0.6 s per cell, concurrency 1,4 and batch 1 unless given (about a "
        "minute per workload on 2 cores once the seed's models are built)",
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
        "concurrency 1 and throughput at concurrency 8, with the goals (<= 1.10 x, >= 0.90 x)",
    )
    add_conversion_options(parser, pipeline_form=False)
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON")
    parser.add_argument("--plot", type=Path, metavar="PATH", help="write latency/throughput PNG")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ovtriton.bench.converter_speed import time_converter

    if args.converter_only:
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
    scratch = None if args.workdir else tempfile.TemporaryDirectory(prefix="ovtriton-bench-")
    try:
        return _run_workloads(args, config, rounds, duration, scratch)
    finally:
        if scratch is not None:
            scratch.cleanup()


def _run_workloads(
    args: argparse.Namespace,
    config: Path | None,
    rounds: int,
    duration: float,
    scratch: tempfile.TemporaryDirectory | None,
) -> int:
    from ovtriton.bench import report
    from ovtriton.bench.run import BenchOptions, run_bench

    work = Path(scratch.name) if scratch else args.workdir.resolve()
    workloads: list[tuple[str, Path | None, str]]
    if config is not None:
        workloads = [(str(config), config, args.pipeline)]
    else:
        workloads = [
            (name, None, args.pipeline) if name == "seed" else (name, *_generated(name, work))
            for name in args.workload or WORKLOADS
        ]
    results = []
    for index, (label, path, pipeline) in enumerate(workloads):
        options = BenchOptions(
            path,
            pipeline,
            tuple(sorted(set(args.concurrency or ((1, 4) if args.quick else (1, 2, 4, 8, 16))))),
            tuple(sorted(set(args.batch or ((1,) if args.quick else (1, 8))))),
            rounds,
            duration,
            one_thread=args.one_thread,
            converter=args.converter and index == 0,
            work=work / label if len(workloads) > 1 else work,
            label=label,
            conversion=conversion_options(args),
        )
        results.append(run_bench(options, say=print))
        print(report.text(results[-1]))
    if args.json:
        report.write_json(results, args.json)
    if args.plot:
        cores = results[0].machine["nproc"]
        runs = [(r.options.label, r.cells) for r in results]
        report.write_plot(runs, args.plot, f"ovtriton bench ({cores} cores)")
    return 0


def _tfs(args: argparse.Namespace, config: Path | None, rounds: int, duration: float) -> int:
    import json

    from ovtriton.bench.front import run_front_bench

    work = args.workdir.resolve() if args.workdir else None
    chosen = args.workload or ("seed",)
    if config is not None and args.workload:
        raise UserError("--tfs: give --config or --workload, not both")
    if len(chosen) != 1:
        raise UserError(f"--tfs runs one workload at a time, not {','.join(chosen)}")
    pipeline = args.pipeline
    with tempfile.TemporaryDirectory(prefix="ovtriton-bench-tfs-") as tmp:
        if config is None and chosen[0] != "seed":
            config, pipeline = _generated(chosen[0], work or Path(tmp))
        result = run_front_bench(
            config,
            pipeline,
            rounds,
            duration,
            work=work,
            say=print,
            options=conversion_options(args),
        )
    print("\n".join(result.lines()))
    if args.json:
        cells = [c.to_dict() for c in result.cells]
        ratios = {"p50_c1": result.latency[1], "throughput_c8": result.throughput[1]}
        args.json.write_text(json.dumps({"cells": cells, "ratios": ratios}, indent=1))
    return 0
