"""Numbers of a bench run: per-cell statistics, ratios between modes and the issue's targets.

Pure functions on plain data, so they are tested without a server. A *cell* is one mode at one
batch size and concurrency; its rounds (interleaved with the other modes') are pooled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np

from .cpu_split import per_inference_ms

INPROCESS = "inprocess"  # the converted configs (thread budgets), in this process
# The in-process configurations searched for "the limit" (the best of them, cell by cell).
INPROCESS_MODES = (INPROCESS, "inprocess_1t", "inprocess_latency", "inprocess_ovdefault")
ENSEMBLE_MODES = ("ensemble_grpc", "ensemble_http", "ensemble_shm")
PIPELINE_MODES = ("pipeline_grpc", "pipeline_http")
FLOOR_MODES = ("floor_grpc", "floor_http", "floor_openvino_grpc", "floor_ensemble_grpc")
FLOOR_OF = {"pipeline_grpc": "floor_grpc", "pipeline_http": "floor_http"}
CHAIN = "chain_grpc"
MODES = (*INPROCESS_MODES, *ENSEMBLE_MODES, *PIPELINE_MODES, *FLOOR_MODES, CHAIN)


@dataclass
class Sample:
    """One timed round of one cell."""

    mode: str
    batch: int
    concurrency: int
    latencies_ms: list[float]
    wall_s: float
    cpu_s: float
    cpu_split: dict[str, float] = field(default_factory=dict)  # stage -> seconds (cpu_split.py)


@dataclass(frozen=True)
class CellStats:
    mode: str
    batch: int
    concurrency: int
    requests: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    throughput: float  # inferences (images) per second
    cpu_cores: float  # CPU seconds per wall second: server + stubs + client process
    cpu_ms_per_inference: float
    p50_round_min_ms: float = float("nan")  # the spread of the rounds' own p50s
    p50_round_max_ms: float = float("nan")
    # CPU ms per inference by stage: client, triton, stubs, front (cpu_split.py)
    cpu_ms_by_stage: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def percentiles(values: Sequence[float]) -> tuple[float, float, float]:
    if not values:
        return (float("nan"),) * 3
    p50, p90, p99 = np.percentile(np.asarray(values, dtype=float), [50, 90, 99])
    return float(p50), float(p90), float(p99)


def cell_stats(samples: Sequence[Sample]) -> CellStats:
    """Pool the rounds of one cell (all samples share mode, batch and concurrency)."""
    first = samples[0]
    latencies = [v for s in samples for v in s.latencies_ms]
    wall = sum(s.wall_s for s in samples)
    cpu = sum(s.cpu_s for s in samples)
    inferences = len(latencies) * first.batch
    p50, p90, p99 = percentiles(latencies)
    rounds = [float(np.median(s.latencies_ms)) for s in samples if s.latencies_ms] or [p50]
    return CellStats(
        first.mode,
        first.batch,
        first.concurrency,
        len(latencies),
        p50,
        p90,
        p99,
        float(np.mean(latencies)) if latencies else float("nan"),
        inferences / wall if wall > 0 else 0.0,
        cpu / wall if wall > 0 else 0.0,
        1000.0 * cpu / inferences if inferences else float("nan"),
        min(rounds),
        max(rounds),
        per_inference_ms(stage_seconds(samples), inferences),
    )


def stage_seconds(samples: Sequence[Sample]) -> dict[str, float]:
    """CPU seconds per stage over the rounds of a cell."""
    total: dict[str, float] = {}
    for sample in samples:
        for stage, seconds in sample.cpu_split.items():
            total[stage] = total.get(stage, 0.0) + seconds
    return total


def summarize(samples: Iterable[Sample]) -> list[CellStats]:
    cells: dict[tuple[str, int, int], list[Sample]] = {}
    for sample in samples:
        cells.setdefault((sample.mode, sample.batch, sample.concurrency), []).append(sample)
    order = {m: i for i, m in enumerate(MODES)}
    keys = sorted(cells, key=lambda k: (k[1], k[2], order.get(k[0], len(order)), k[0]))
    return [cell_stats(cells[k]) for k in keys]


def find(
    cells: Sequence[CellStats], mode: str, batch: int, concurrency: int
) -> Optional[CellStats]:
    return next(
        (c for c in cells if (c.mode, c.batch, c.concurrency) == (mode, batch, concurrency)), None
    )


def best(
    cells: Sequence[CellStats], modes: Sequence[str], batch: int, concurrency: int
) -> Optional[CellStats]:
    """The lowest-p50 cell among ``modes`` (for in-process modes: the limit)."""
    found = [c for m in modes if (c := find(cells, m, batch, concurrency))]
    return min(found, key=lambda c: c.p50_ms) if found else None


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b is not None and b > 0 else None


@dataclass(frozen=True)
class Ratios:
    """Per batch and concurrency, against the limit (the best in-process configuration)."""

    batch: int
    concurrency: int
    limit_mode: Optional[str]
    best_transport: str
    ensemble_vs_inprocess_p50: Optional[float]
    ensemble_vs_inprocess_throughput: Optional[float]
    chain_vs_ensemble_p50: Optional[float]  # chain_grpc / ensemble_grpc (same transport)
    pipeline_vs_inprocess_p50: Optional[float]  # best pipeline-model transport / limit
    ensemble_vs_pipeline_p50: Optional[float]  # best ensemble transport / best pipeline one


def ratios(cells: Sequence[CellStats]) -> list[Ratios]:
    out = []
    for batch, concurrency in dict.fromkeys((c.batch, c.concurrency) for c in cells):
        ensembles = [c for m in ENSEMBLE_MODES if (c := find(cells, m, batch, concurrency))]
        if not ensembles:
            continue
        fastest = min(ensembles, key=lambda c: c.p50_ms)
        limit = best(cells, INPROCESS_MODES, batch, concurrency)
        top = max(
            (c for m in INPROCESS_MODES if (c := find(cells, m, batch, concurrency))),
            key=lambda c: c.throughput,
            default=None,
        )
        pipeline = best(cells, PIPELINE_MODES, batch, concurrency)
        chain = find(cells, CHAIN, batch, concurrency)
        grpc = find(cells, "ensemble_grpc", batch, concurrency)
        out.append(
            Ratios(
                batch,
                concurrency,
                limit.mode if limit else None,
                fastest.mode,
                ratio(fastest.p50_ms, limit.p50_ms if limit else None),
                ratio(max(c.throughput for c in ensembles), top.throughput if top else None),
                ratio(chain.p50_ms if chain else None, grpc.p50_ms if grpc else None),
                ratio(pipeline.p50_ms if pipeline else None, limit.p50_ms if limit else None),
                ratio(fastest.p50_ms, pipeline.p50_ms if pipeline else None),
            )
        )
    return out


def saturation(cells: Sequence[CellStats], modes: Sequence[str], batch: int) -> Optional[CellStats]:
    """The highest-throughput cell among ``modes`` at ``batch``."""
    found = [c for c in cells if c.mode in modes and c.batch == batch]
    return max(found, key=lambda c: c.throughput) if found else None
