"""The targets a bench run is held to (issues 10, 12 and 21), from its cells.

Each target is a ratio in one run on one machine: the modes were interleaved, so drift on a
shared machine hits them alike. ``holds`` is None when the run did not measure what it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

from .stats import (
    ENSEMBLE_MODES,
    FLOOR_OF,
    INPROCESS_MODES,
    PIPELINE_MODES,
    CellStats,
    best,
    find,
    ratio,
    ratios,
    saturation,
)


@dataclass(frozen=True)
class Target:
    name: str
    value: Optional[float]
    limit: float
    holds: Optional[bool]  # None: not measured
    detail: str = ""
    at_most: bool = True  # value <= limit (else value >= limit)


def _target(
    name: str, value: Optional[float], limit: float, at_most: bool, detail: str = ""
) -> Target:
    if value is None:
        return Target(name, None, limit, None, detail or "not measured", at_most)
    return Target(
        name, value, limit, value <= limit if at_most else value >= limit, detail, at_most
    )


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


def pipeline_vs_floor(cells: Sequence[CellStats]) -> Target:
    """Pipeline model p50 (c1, batch 1, best transport) / (limit p50 + that transport's floor)."""
    name = "pipeline model p50 at c=1 (best transport) / (in-process limit + floor, same transport)"
    limit = best(cells, INPROCESS_MODES, 1, 1)
    options = []
    for mode in PIPELINE_MODES:
        pipe, floor = find(cells, mode, 1, 1), find(cells, FLOOR_OF[mode], 1, 1)
        if pipe and floor and limit:
            options.append((pipe.p50_ms / (limit.p50_ms + floor.p50_ms), pipe, floor))
    if not options or limit is None:
        return _target(name, None, 1.10, True)
    value, pipe, floor = min(options, key=lambda o: o[0])
    detail = (
        f"{pipe.mode} {pipe.p50_ms:.2f} ms vs {limit.mode} {limit.p50_ms:.2f} + "
        f"{floor.mode} {floor.p50_ms:.2f} ms"
    )
    return _target(name, value, 1.10, True, detail)


def pipeline_cpu(cells: Sequence[CellStats]) -> Target:
    """Pipeline model CPU per inference / (in-process, the leanest configuration, + the CPU of
    Triton's floor on the same transport), at c=4 and c=8: what is ours beyond the floor
    (issue 21: <= 1.10)."""
    worst: Optional[tuple[float, str]] = None
    for concurrency in (4, 8):
        local = [c for m in INPROCESS_MODES if (c := find(cells, m, 1, concurrency))]
        if not local:
            continue
        i = min(local, key=lambda c: c.cpu_ms_per_inference)
        for mode in PIPELINE_MODES:
            p, f = find(cells, mode, 1, concurrency), find(cells, FLOOR_OF[mode], 1, concurrency)
            if p is None or f is None:
                continue
            value = ratio(p.cpu_ms_per_inference, i.cpu_ms_per_inference + f.cpu_ms_per_inference)
            if value is not None and (worst is None or value > worst[0]):
                worst = (
                    value,
                    f"c={concurrency}: {p.mode} {p.cpu_ms_per_inference:.2f} vs {i.mode} "
                    f"{i.cpu_ms_per_inference:.2f} + {f.mode} {f.cpu_ms_per_inference:.2f} ms",
                )
    return _target(
        "pipeline model CPU ms/inference / (in-process + floor) at c=4 and 8 (worst)",
        worst[0] if worst else None,
        1.10,
        True,
        worst[1] if worst else "",
    )


def throughput_target(
    what: str, served: Optional[CellStats], local: Optional[CellStats], batch: int
) -> Target:
    """Served throughput at saturation / in-process at saturation (>= 0.90)."""
    value = ratio(served.throughput if served else None, local.throughput if local else None)
    detail = (
        f"{served.mode} c={served.concurrency} {served.throughput:.1f}/s vs {local.mode} "
        f"c={local.concurrency} {local.throughput:.1f}/s"
        if served and local
        else ""
    )
    name = f"{what} throughput at saturation / in-process (batch {batch})"
    return _target(name, value, 0.90, False, detail)


def targets(
    cells: Sequence[CellStats],
    one_thread: Optional[OneThread],
    converter_rest_s: Optional[float],
    mismatches: Optional[Sequence[str]] = None,
) -> list[Target]:
    found = []
    all_ratios = ratios(cells)
    first = [r for r in all_ratios if r.batch == 1 and r.concurrency == 1]
    found.append(pipeline_vs_floor(cells))
    found.append(
        _target(
            "default ensemble p50 at c=1 / pipeline model p50 (best transports)",
            first[0].ensemble_vs_pipeline_p50 if first else None,
            1.25,
            True,
        )
    )
    found.append(pipeline_cpu(cells))
    numpy, openvino = find(cells, "floor_grpc", 1, 1), find(cells, "floor_openvino_grpc", 1, 1)
    found.append(
        _target(
            "zero-compute openvino_py p50 - zero-compute Python model p50 at c=1 (gRPC), ms",
            openvino.p50_ms - numpy.p50_ms if openvino and numpy else None,
            0.3,
            True,
        )
    )
    found.append(
        _target(
            "ensemble p50 at c=1 (batch 1, best transport) / in-process limit",
            first[0].ensemble_vs_inprocess_p50 if first else None,
            1.15,
            True,
            f"{first[0].best_transport} vs {first[0].limit_mode}" if first else "",
        )
    )
    for batch in sorted({c.batch for c in cells}):
        local = saturation(cells, INPROCESS_MODES, batch)
        for what, modes in (("ensemble", ENSEMBLE_MODES), ("pipeline model", PIPELINE_MODES)):
            served = saturation(cells, modes, batch)
            found.append(throughput_target(what, served, local, batch))
    slower = [r for r in all_ratios if r.chain_vs_ensemble_p50 is not None]
    worst = min(slower, key=lambda r: r.chain_vs_ensemble_p50 or 0.0) if slower else None
    found.append(
        Target(
            "ensemble faster than client chaining at every concurrency (min chain/ensemble p50)",
            worst.chain_vs_ensemble_p50 if worst else None,
            1.0,
            all((r.chain_vs_ensemble_p50 or 0) > 1.0 for r in slower) if slower else None,
            f"worst at batch {worst.batch} c={worst.concurrency}" if worst else "not measured",
            at_most=False,
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
    if mismatches is not None:
        found.append(
            Target(
                "every mode returns the in-process outputs (floors: same names and shapes)",
                float(len(mismatches)),
                0.0,
                not mismatches,
                "; ".join(mismatches) or "all agree",
            )
        )
    return found
