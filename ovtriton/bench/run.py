"""One bench run: convert, serve, measure every mode interleaved, then the extra checks.

Before timing, every mode answers the same inputs once and must agree with the in-process
outputs (``modes.check_outputs``); the load average is read before and after (shared machines).

Rounds are the outer loop and every (batch, concurrency) cell runs all modes back to back, in
an order rotated each round, so drift on a shared machine hits every mode alike.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from ovtriton.converter.options import ConversionOptions
from ovtriton.errors import UserError
from ovtriton.seed import repository
from ovtriton.server.process import Ports, TritonServer

from . import machine
from .converter_speed import ConverterTiming, time_converter
from .floor import write_floor
from .inprocess import InProcessDag
from .load import CpuMeter, WorkerPool
from .modes import check_outputs, factories, local_dags
from .remote import ChainGrpc, Ensemble
from .stats import MODES, CellStats, Ratios, Sample, ratios, summarize
from .targets import OneThread, Target, targets
from .workload import Dag, Workload, prepare

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class BenchOptions:
    config: Optional[Path]  # None: the seed, prepared in <work>/model_repository
    pipeline: str
    concurrencies: tuple[int, ...] = (1, 2, 4, 8, 16)
    batches: tuple[int, ...] = (1, 8)
    rounds: int = 3
    duration_s: float = 3.0  # per cell and round
    modes: tuple[str, ...] = MODES
    one_thread: bool = True
    converter: bool = True
    converter_size: tuple[int, int] = (200, 100)  # models, pipelines
    work: Optional[Path] = None
    label: str = ""  # the workload's name in reports ("seed", "small", or the config's path)
    conversion: ConversionOptions = ConversionOptions()  # as ``convert``'s flags give them


@dataclass
class BenchResult:
    options: BenchOptions
    machine: dict[str, Any]
    batches: tuple[int, ...]
    cells: list[CellStats]
    ratios: list[Ratios]
    one_thread: Optional[OneThread]
    converter: Optional[ConverterTiming]
    targets: list[Target]
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    mismatches: list[str] = field(default_factory=list)
    load_average: tuple[float, float] = (0.0, 0.0)  # 1-minute load before and after


def run_bench(options: BenchOptions, say: Callable[[str], None] = LOGGER.info) -> BenchResult:
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ovtriton-bench-") as tmp:
        work = options.work or Path(tmp)
        if options.config is None:
            say(f"building the seed's models in {work / 'model_repository'}")
        config = options.config or repository.prepare(work / "model_repository")
        say(f"converting {config} (pipeline {options.pipeline}) into {work / 'triton'}")
        workload = prepare(config, options.pipeline, work, max(options.batches), options.conversion)
        notes = []
        batches = tuple(b for b in options.batches if b <= workload.max_batch)
        if batches != tuple(options.batches):
            notes.append(
                f"batch(es) {sorted(set(options.batches) - set(batches))} skipped: the "
                f"models accept at most batch {workload.max_batch}"
            )
        load_before = os.getloadavg()[0]
        samples, one_thread, mismatches = _measure(options, workload, batches, work, say)
        load_after = os.getloadavg()[0]
        timing = None
        if options.converter:
            say("timing the converter on %d models and %d pipelines" % options.converter_size)
            timing = time_converter(work / "converter", *options.converter_size)
    cells = summarize(samples)
    result = BenchResult(
        options,
        machine.describe(),
        batches,
        cells,
        ratios(cells),
        one_thread,
        timing,
        targets(cells, one_thread, timing.rest_s if timing else None, mismatches),
        notes,
        mismatches=mismatches,
        load_average=(load_before, load_after),
    )
    result.elapsed_s = time.perf_counter() - began
    return result


def _measure(
    options: BenchOptions,
    workload: Workload,
    batches: Sequence[int],
    work: Path,
    say: Callable[[str], None],
) -> tuple[list[Sample], Optional[OneThread], list[str]]:
    dag = workload.dag
    inputs = {b: dag.sample(b, seed=b) for b in batches}
    write_floor(workload.repository, workload.configs, dag.name)
    server = TritonServer(workload.repository, ports=Ports.free(), workdir=work / "server")
    say("starting tritonserver and compiling the in-process models")
    local = local_dags(workload)
    pool = WorkerPool(max(options.concurrencies))
    samples: list[Sample] = []
    with server:
        broken = [m for m in server.models() if m.state != "READY"]
        if broken:
            raise UserError(
                "models did not load: "
                + "; ".join(f"{m.name}: {m.reason}" for m in broken)
                + "\n"
                + server.log_tail()
            )
        meter = CpuMeter(server._process.pid if server._process else None)
        modes = factories(local, server, workload)
        modes = {m: f for m, f in modes.items() if m in options.modes}
        mismatches = check_outputs(modes, inputs)
        for problem in mismatches:
            LOGGER.warning("outputs: %s", problem)
        single = (
            _one_thread_factories(workload, server)
            if options.one_thread and workload.dag_1t
            else {}
        )
        cells = [(b, c) for b in batches for c in options.concurrencies]
        try:
            for round_ in range(options.rounds):
                say(f"round {round_ + 1}/{options.rounds}")
                for name, factory in _rotate(list(single.items()), round_):
                    samples.append(
                        pool.run(
                            name,
                            name,
                            factory,
                            inputs[1] if 1 in inputs else dag.sample(1),
                            1,
                            1,
                            options.duration_s,
                            meter,
                        )
                    )
                for batch, concurrency in cells:
                    for mode in _rotate(list(modes), round_ + concurrency):
                        key = (mode, batch) if mode == "ensemble_shm" else mode
                        samples.append(
                            pool.run(
                                mode,
                                key,
                                modes[mode](batch),
                                inputs[batch],
                                batch,
                                concurrency,
                                options.duration_s,
                                meter,
                            )
                        )
                    say(
                        f"  batch {batch} concurrency {concurrency}: "
                        + ", ".join(
                            f"{s.mode} {np.median(s.latencies_ms):.1f} ms"
                            for s in samples[-len(modes) :]
                        )
                    )
        finally:
            pool.close()  # closes every session in its own thread, before the server stops
    for each in local.values():
        each.close()
    timed = [s for s in samples if not s.mode.startswith("1t:")]
    return timed, _one_thread(samples), mismatches


def _rotate(items: list, by: int) -> list:
    by %= max(1, len(items))
    return items[by:] + items[:by]


def _one_thread_factories(workload: Workload, server: TritonServer) -> dict[str, Callable[[], Any]]:
    """The one-thread pipeline and each of its branches alone, through Triton and in process."""
    dag = workload.dag_1t
    assert dag is not None
    local = InProcessDag(dag, workload.repository, workload.configs)
    calls: dict[str, Callable[[], Any]] = {
        "1t:ensemble": lambda: Ensemble(server.grpc_url, "grpc", dag),
        "1t:inprocess": local.session,
    }
    for step in dag.steps:
        if step.model not in dag.branches():
            continue
        alone = Dag(step.model, dag.inputs, (), (step,))
        calls[f"1t:branch:{step.model}"] = functools.partial(ChainGrpc, server.grpc_url, alone)
        calls[f"1t:inprocess_branch:{step.model}"] = InProcessDag(
            alone, workload.repository, workload.configs
        ).session
    return calls


def _one_thread(samples: Sequence[Sample]) -> Optional[OneThread]:
    pooled: dict[str, list[float]] = {}
    for s in samples:
        if s.mode.startswith("1t:"):
            pooled.setdefault(s.mode[3:], []).extend(s.latencies_ms)
    if "ensemble" not in pooled:
        return None
    p50 = {name: float(np.median(v)) for name, v in pooled.items()}
    return OneThread(
        p50["ensemble"],
        {k.split(":", 1)[1]: v for k, v in p50.items() if k.startswith("branch:")},
        p50.get("inprocess"),
        {k.split(":", 1)[1]: v for k, v in p50.items() if k.startswith("inprocess_branch:")},
    )
