"""A bench result as a console table, a JSON document and a PNG plot."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Optional

from .cpu_split import STAGES
from .stats import MODES, CellStats, Ratios
from .targets import Target

LOGGER = logging.getLogger(__name__)

JSON_VERSION = 2  # 2: one document per workload under "runs"; floors, pipeline model, limit


def _num(value: Optional[float], digits: int = 2) -> str:
    return (
        "-"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.{digits}f}"
    )


def cell_table(cells: Sequence[CellStats]) -> str:
    head = (
        "batch",
        "conc",
        "mode",
        "p50 ms",
        "rounds' p50",
        "p90 ms",
        "p99 ms",
        "inf/s",
        "CPU cores",
        "CPU ms/inf",
        "client/triton/stubs/front",
        "n",
    )
    rows = [head] + [
        (
            str(c.batch),
            str(c.concurrency),
            c.mode,
            _num(c.p50_ms, 1),
            f"{_num(c.p50_round_min_ms, 1)}-{_num(c.p50_round_max_ms, 1)}",
            _num(c.p90_ms, 1),
            _num(c.p99_ms, 1),
            _num(c.throughput, 1),
            _num(c.cpu_cores),
            _num(c.cpu_ms_per_inference, 1),
            stage_cells(c.cpu_ms_by_stage),
            str(c.requests),
        )
        for c in cells
    ]
    return _align(rows)


def stage_cells(ms: Mapping[str, float]) -> str:
    """CPU ms per inference by stage as ``1.2/3.4/0.5/-`` (``-``: the stage took no part)."""
    return "/".join(_num(ms.get(stage), 1) for stage in STAGES)


def ratio_table(items: Sequence[Ratios]) -> str:
    head = (
        "batch",
        "conc",
        "limit (a)",
        "ens (b)/(a) p50",
        "(b)/(a) inf/s",
        "chain/(b) p50",
        "pipeline/(a) p50",
        "(b)/pipeline p50",
    )
    rows = [head] + [
        (
            str(r.batch),
            str(r.concurrency),
            r.limit_mode or "-",
            _num(r.ensemble_vs_inprocess_p50),
            _num(r.ensemble_vs_inprocess_throughput),
            _num(r.chain_vs_ensemble_p50),
            _num(r.pipeline_vs_inprocess_p50),
            _num(r.ensemble_vs_pipeline_p50),
        )
        for r in items
    ]
    return _align(rows)


def target_lines(items: Sequence[Target]) -> list[str]:
    lines = []
    for t in items:
        verdict = {True: "HOLDS", False: "MISSED", None: "n/a"}[t.holds]
        sign = "<=" if t.at_most else ">="
        lines.append(
            f"  [{verdict:6}] {t.name}: {_num(t.value)} ({sign} {t.limit:g})"
            + (f" - {t.detail}" if t.detail else "")
        )
    return lines


def _align(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(v.rjust(w) if i != 2 else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths)))
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def text(result: Any) -> str:
    m = result.machine
    parts = [
        f"machine: {m['nproc']} cores ({m['cpu_model']}), {m['memory_gib']} GiB, OpenVINO "
        f"{m['openvino']}, Python {m['python']}",
        f"workload {result.options.label or result.options.pipeline}, pipeline "
        f"{result.options.pipeline}: {result.options.rounds} round(s) x "
        f"{result.options.duration_s:g} s per cell; load average (1 min) "
        f"{result.load_average[0]:.1f} before, {result.load_average[1]:.1f} after",
        "",
        cell_table(result.cells),
        "",
        "ratios: (a) the limit = best in-process configuration, (b) best ensemble transport:",
        ratio_table(result.ratios),
    ]
    if result.one_thread:
        o = result.one_thread
        branches = " + ".join(f"{k} {v:.1f}" for k, v in o.branch_p50_ms.items())
        parts += [
            "",
            f"one OpenVINO thread per model: ensemble p50 {o.ensemble_p50_ms:.1f} ms vs "
            f"branches {branches} ms -> {_num(o.ratio)}",
        ]
        if o.inprocess_p50_ms is not None:
            local = " + ".join(f"{v:.1f}" for v in o.inprocess_branch_p50_ms.values())
            parts.append(
                f"  in process: DAG {o.inprocess_p50_ms:.1f} ms vs branches {local} ms "
                f"-> {_num(o.inprocess_ratio)}"
            )
    if result.converter:
        c = result.converter
        parts += [
            "",
            f"converter: {c.models} models + {c.pipelines} pipelines: {c.total_s:.2f} s "
            f"(plan {c.plan_s:.2f} s, write {c.write_s:.2f} s), reading models "
            f"{c.reading_s:.2f} s, beyond reading {c.rest_s:.2f} s",
        ]
    parts += ["", "targets:", *target_lines(result.targets)]
    parts += [f"note: {n}" for n in result.notes]
    parts.append(f"elapsed {result.elapsed_s:.0f} s")
    return "\n".join(parts)


def document(result: Any) -> dict[str, Any]:
    options = {k: _plain(v) for k, v in asdict(result.options).items()}
    return {
        "version": JSON_VERSION,
        "machine": result.machine,
        "options": options,
        "batches": list(result.batches),
        "modes": [m for m in MODES if m in result.options.modes],
        "cells": [c.to_dict() for c in result.cells],
        "ratios": [asdict(r) for r in result.ratios],
        "one_thread": None
        if result.one_thread is None
        else {
            **asdict(result.one_thread),
            "ratio": result.one_thread.ratio,
            "inprocess_ratio": result.one_thread.inprocess_ratio,
        },
        "converter": result.converter.to_dict() if result.converter else None,
        "targets": [asdict(t) for t in result.targets],
        "notes": list(result.notes),
        "elapsed_s": result.elapsed_s,
        "mismatches": list(result.mismatches),
        "load_average": list(result.load_average),
    }


def write_json(results: Sequence[Any], path: Path) -> None:
    """One document per workload under ``runs``."""
    doc = {"version": JSON_VERSION, "runs": [document(r) for r in results]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_nan_free(doc), indent=1, allow_nan=False) + "\n")
    LOGGER.info("wrote %s", path)


def _nan_free(value: Any) -> Any:
    """NaN/inf (a cell without requests) -> null: JSON has no NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _nan_free(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_free(v) for v in value]
    return value


def write_plot(runs: Sequence[tuple[str, Sequence[CellStats]]], path: Path, title: str) -> None:
    """p50 and throughput against concurrency: a column per (workload, batch)."""
    from ovtriton.seed.extras import pyplot, save_figure

    plt = pyplot("the bench's plot")
    columns = [(label, cells, b) for label, cells in runs for b in sorted({c.batch for c in cells})]
    fig, axes = plt.subplots(2, len(columns), figsize=(6 * len(columns), 8), squeeze=False)
    cmap = plt.get_cmap("tab20")
    for column, (label, cells, batch) in enumerate(columns):
        for index, mode in enumerate(m for m in MODES if any(c.mode == m for c in cells)):
            mine = sorted(
                (c for c in cells if c.mode == mode and c.batch == batch),
                key=lambda c: c.concurrency,
            )
            style = "--" if mode.startswith(("floor", "chain")) else "-"
            for row, values in enumerate(([c.p50_ms for c in mine], [c.throughput for c in mine])):
                axes[row][column].plot(
                    [c.concurrency for c in mine],
                    values,
                    style,
                    marker="o",
                    color=cmap(index),
                    label=mode,
                )
        axes[0][column].set_title(f"{label}, batch {batch}: p50 latency")
        axes[0][column].set_ylabel("ms")
        axes[0][column].set_yscale("log")
        axes[1][column].set_title(f"{label}, batch {batch}: throughput")
        axes[1][column].set_ylabel("inferences/s")
        for ax in (axes[0][column], axes[1][column]):
            ax.set_xscale("log", base=2)
            ax.set_xlabel("concurrency")
            ax.grid(True, alpha=0.3)
        axes[0][column].legend(fontsize=7)
    save_figure(fig, path, title, dpi=80)


def _plain(value: Any) -> Any:
    """``value`` as JSON takes it: paths as text, sets as sorted lists (the options' fields)."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
