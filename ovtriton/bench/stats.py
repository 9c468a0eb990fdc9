"""Numbers of a bench run: per-cell statistics, ratios between modes and the issue's targets.

Pure functions on plain data, so they are tested without a server. A *cell* is one mode at one
batch size and concurrency; its rounds (interleaved with the other modes') are pooled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np

INPROCESS = "inprocess"
ENSEMBLE_MODES = ("ensemble_grpc", "ensemble_http", "ensemble_shm")
CHAIN = "chain_grpc"
MODES = (INPROCESS, *ENSEMBLE_MODES, CHAIN)


@dataclass
class Sample:
    """One timed round of one cell."""

    mode: str
    batch: int
    concurrency: int
    latencies_ms: list[float]
    wall_s: float
    cpu_s: float


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
    )


def summarize(samples: Iterable[Sample]) -> list[CellStats]:
    cells: dict[tuple[str, int, int], list[Sample]] = {}
    for sample in samples:
        cells.setdefault((sample.mode, sample.batch, sample.concurrency), []).append(sample)
    order = {m: i for i, m in enumerate(MODES)}
    keys = sorted(cells, key=lambda k: (k[1], k[2], order.get(k[0], len(order)), k[0]))
    return [cell_stats(cells[k]) for k in keys]


def _find(
    cells: Sequence[CellStats], mode: str, batch: int, concurrency: int
) -> Optional[CellStats]:
    return next(
        (c for c in cells if (c.mode, c.batch, c.concurrency) == (mode, batch, concurrency)), None
    )


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b is not None and b > 0 else None


@dataclass(frozen=True)
class Ratios:
    """Per batch and concurrency: best ensemble transport vs in-process, chaining vs ensemble."""

    batch: int
    concurrency: int
    best_transport: str
    ensemble_vs_inprocess_p50: Optional[float]
    ensemble_vs_inprocess_throughput: Optional[float]
    chain_vs_ensemble_p50: Optional[float]  # chain_grpc / ensemble_grpc (same transport)


def ratios(cells: Sequence[CellStats]) -> list[Ratios]:
    out = []
    for batch, concurrency in dict.fromkeys((c.batch, c.concurrency) for c in cells):
        ensembles = [c for m in ENSEMBLE_MODES if (c := _find(cells, m, batch, concurrency))]
        if not ensembles:
            continue
        best = min(ensembles, key=lambda c: c.p50_ms)
        inproc = _find(cells, INPROCESS, batch, concurrency)
        chain = _find(cells, CHAIN, batch, concurrency)
        grpc = _find(cells, "ensemble_grpc", batch, concurrency)
        out.append(
            Ratios(
                batch,
                concurrency,
                best.mode,
                _ratio(best.p50_ms, inproc.p50_ms if inproc else None),
                _ratio(max(c.throughput for c in ensembles), inproc.throughput if inproc else None),
                _ratio(chain.p50_ms if chain else None, grpc.p50_ms if grpc else None),
            )
        )
    return out


def saturation(cells: Sequence[CellStats], modes: Sequence[str], batch: int) -> Optional[CellStats]:
    """The highest-throughput cell among ``modes`` at ``batch``."""
    found = [c for c in cells if c.mode in modes and c.batch == batch]
    return max(found, key=lambda c: c.throughput) if found else None


@dataclass(frozen=True)
class Target:
    name: str
    value: Optional[float]
    limit: float
    holds: Optional[bool]  # None: not measured
    detail: str = ""


def _target(
    name: str, value: Optional[float], limit: float, at_most: bool, detail: str = ""
) -> Target:
    if value is None:
        return Target(name, None, limit, None, detail or "not measured")
    return Target(name, value, limit, value <= limit if at_most else value >= limit, detail)


@dataclass
class OneThread:
    """The one-thread check: ensemble latency vs the sum of its branches' latencies (p50, ms)."""

    ensemble_p50_ms: float
    branch_p50_ms: dict[str, float] = field(default_factory=dict)
    inprocess_p50_ms: Optional[float] = None
    inprocess_branch_p50_ms: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> Optional[float]:
        total = sum(self.branch_p50_ms.values())
        return self.ensemble_p50_ms / total if len(self.branch_p50_ms) >= 2 and total > 0 else None

    @property
    def inprocess_ratio(self) -> Optional[float]:
        total = sum(self.inprocess_branch_p50_ms.values())
        ok = (
            self.inprocess_p50_ms is not None
            and len(self.inprocess_branch_p50_ms) >= 2
            and total > 0
        )
        return self.inprocess_p50_ms / total if ok else None  # type: ignore[operator]


def targets(
    cells: Sequence[CellStats], one_thread: Optional[OneThread], converter_rest_s: Optional[float]
) -> list[Target]:
    found = []
    first = [r for r in ratios(cells) if r.batch == 1 and r.concurrency == 1]
    found.append(
        _target(
            "ensemble p50 at concurrency 1 (batch 1, best transport) / in-process",
            first[0].ensemble_vs_inprocess_p50 if first else None,
            1.15,
            True,
            f"best transport {first[0].best_transport}" if first else "",
        )
    )
    for batch in sorted({c.batch for c in cells}):
        ens, inproc = (
            saturation(cells, ENSEMBLE_MODES, batch),
            saturation(cells, (INPROCESS,), batch),
        )
        value = _ratio(ens.throughput if ens else None, inproc.throughput if inproc else None)
        detail = (
            (
                f"{ens.mode} c={ens.concurrency} {ens.throughput:.1f}/s vs in-process "
                f"c={inproc.concurrency} {inproc.throughput:.1f}/s"
            )
            if ens and inproc
            else ""
        )
        found.append(
            _target(
                f"ensemble throughput at saturation / in-process (batch {batch})",
                value,
                0.90,
                False,
                detail,
            )
        )
    slower = [r for r in ratios(cells) if r.chain_vs_ensemble_p50 is not None]
    worst = min(slower, key=lambda r: r.chain_vs_ensemble_p50 or 0.0) if slower else None
    found.append(
        Target(
            "ensemble faster than client chaining at every concurrency (min chain/ensemble p50)",
            worst.chain_vs_ensemble_p50 if worst else None,
            1.0,
            all((r.chain_vs_ensemble_p50 or 0) > 1.0 for r in slower) if slower else None,
            f"worst at batch {worst.batch} c={worst.concurrency}" if worst else "not measured",
        )
    )
    found.append(
        _target(
            "one thread per branch: ensemble p50 / sum of branch p50s",
            one_thread.ratio if one_thread else None,
            0.65,
            True,
        )
    )
    found.append(
        _target(
            "convert 200 models + 100 pipelines, seconds beyond reading models",
            converter_rest_s,
            3.0,
            True,
        )
    )
    return found
