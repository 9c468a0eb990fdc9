"""Show request timelines: as text (one bar per step) and as a PNG picture (matplotlib, Agg).

Times are milliseconds from the request's REQUEST_START. A step's bar is ``.`` while it waits
(REQUEST_START to COMPUTE_START: queue, scheduling) and ``#`` while it computes.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Sequence

from ovtriton.errors import UserError
from ovtriton.seed import extras
from ovtriton.seed.trace import RequestTimeline, Span

LOGGER = logging.getLogger(__name__)

BAR_WIDTH = 50
NS_PER_MS = 1e6


def text_lines(timeline: RequestTimeline, number: int, parallel: Sequence[str] = ()) -> list[str]:
    """A request's steps with their times and a bar each; the overlap of ``parallel`` if given."""
    root = timeline.root
    origin, total = root.start, max(root.end - root.start, 1)
    width = max(len(s.model) for s in timeline.steps)
    lines = [
        f"request {number} (trace {root.trace_id}) {root.model}: {total / NS_PER_MS:.2f} ms",
        (
            f"  {'step':<{width}}  {'start':>7}  {'compute':>7}  {'end':>7}   0 ms{'':<{BAR_WIDTH - 7}}"
            f"{total / NS_PER_MS:.1f} ms"
        ),
    ]
    for span in timeline.steps:
        begin, (compute_start, compute_end) = span.start, span.compute
        lines.append(
            f"  {span.model:<{width}}  {_ms(begin - origin):>7}  {_ms(compute_start - origin):>7}  "
            f"{_ms(compute_end - origin):>7}  |{_bar(span, origin, total)}|"
        )
    if len(parallel) == 2:
        overlap = timeline.overlap_ns(*parallel)
        verdict = (
            f"computed in parallel for {overlap / NS_PER_MS:.2f} ms"
            if overlap > 0
            else "did NOT overlap"
        )
        lines.append(f"  {parallel[0]} and {parallel[1]} {verdict}")
    return lines


def text(timelines: Sequence[RequestTimeline], parallel: Sequence[str] = ()) -> str:
    blocks = ["\n".join(text_lines(t, i, parallel)) for i, t in enumerate(timelines, start=1)]
    return "\n\n".join(blocks) + "\n"


def _ms(ns: int) -> str:
    return f"{ns / NS_PER_MS:.2f}"


def _bar(span: Span, origin: int, total: int) -> str:
    def column(ns: int) -> int:
        return min(BAR_WIDTH, max(0, round((ns - origin) * BAR_WIDTH / total)))

    begin, (compute_start, compute_end) = column(span.start), map(column, span.compute)
    compute_end = max(compute_end, compute_start + 1)  # a short step still shows
    cells = [" "] * BAR_WIDTH
    for i in range(begin, min(compute_start, BAR_WIDTH)):
        cells[i] = "."
    for i in range(compute_start, min(compute_end, BAR_WIDTH)):
        cells[i] = "#"
    return "".join(cells)


def save_png(
    timelines: Sequence[RequestTimeline], path: Path, title: str = "", max_requests: int = 6
) -> Path:
    """One panel per request (the last ``max_requests``): a row per step, wait light, compute dark."""
    if not timelines:
        raise UserError("no traced requests to draw")
    pyplot = extras.pyplot("drawing the timeline")
    matplotlib = importlib.import_module("matplotlib")
    shown = list(timelines)[-max_requests:]
    first = len(timelines) - len(shown) + 1
    models = sorted({s.model for t in shown for s in t.steps}, key=lambda m: _first_start(shown, m))
    colours = matplotlib.colormaps["tab10"]
    figure, axes = pyplot.subplots(
        len(shown), 1, figsize=(9, 0.45 * len(models) * len(shown) + 1.2), squeeze=False
    )
    for number, (axis, timeline) in enumerate(zip(axes[:, 0], shown), start=first):
        origin = timeline.root.start
        for row, model in enumerate(models):
            for span in (s for s in timeline.steps if s.model == model):
                compute_start, compute_end = span.compute
                wait = ((span.start - origin) / NS_PER_MS, (compute_start - span.start) / NS_PER_MS)
                work = (
                    (compute_start - origin) / NS_PER_MS,
                    (compute_end - compute_start) / NS_PER_MS,
                )
                axis.broken_barh([wait], (row - 0.35, 0.7), color=colours(row), alpha=0.3)
                axis.broken_barh([work], (row - 0.35, 0.7), color=colours(row))
        axis.set_yticks(range(len(models)), models)
        axis.invert_yaxis()
        axis.set_xlim(0, (timeline.root.end - origin) / NS_PER_MS)
        axis.set_title(
            f"request {number} (trace {timeline.root.trace_id}) {timeline.root.model}: "
            f"{(timeline.root.end - origin) / NS_PER_MS:.1f} ms",
            fontsize=9,
        )
        axis.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel("ms since the request started (light: waiting, dark: computing)")
    return extras.save_figure(figure, path, title)


def _first_start(timelines: Sequence[RequestTimeline], model: str) -> tuple[int, str]:
    """Row order: steps by their typical start (whole ms), then by name."""
    starts = [s.compute[0] - t.root.start for t in timelines for s in t.steps if s.model == model]
    return round(sorted(starts)[len(starts) // 2] / NS_PER_MS), model
