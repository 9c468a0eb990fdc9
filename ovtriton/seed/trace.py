"""Triton's own trace (``--trace-config level=TIMESTAMPS``) as a per-request timeline of steps.

A trace file is a JSON array of entries sharing an ``id``: one names the model
(``model_name``, ``model_version`` and, for an ensemble's step, ``parent_id`` = the ensemble
request's id), the others carry ``timestamps`` ``[{"name": "COMPUTE_START", "ns": ...}]``.
With ``triton,log-frequency=N`` Triton writes ``<file>.0``, ``<file>.1``, ... as it goes;
without, one ``<file>`` at exit. Entries with the same id are merged across files.

Two steps ran in parallel when their ``[COMPUTE_START, COMPUTE_END]`` intervals overlap.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from ovtriton.errors import UserError

LOGGER = logging.getLogger(__name__)

TRACE_ARGS_LEVEL = "TIMESTAMPS"


def server_args(trace_file: Path, log_frequency: int = 1) -> tuple[str, ...]:
    """tritonserver flags tracing every request to ``trace_file`` (``.0``, ``.1``, ...)."""
    return (
        "--trace-config",
        f"triton,file={trace_file}",
        "--trace-config",
        f"triton,log-frequency={log_frequency}",
        "--trace-config",
        f"level={TRACE_ARGS_LEVEL}",
        "--trace-config",
        "rate=1",
        "--trace-config",
        "count=-1",
    )


@dataclass(frozen=True)
class Span:
    """One traced model execution: the ensemble request itself, or one of its steps."""

    trace_id: int
    model: str
    parent_id: Optional[int]
    timestamps: dict[str, int] = field(default_factory=dict)  # name -> ns

    def at(self, name: str) -> int:
        if name not in self.timestamps:
            raise UserError(f"trace {self.trace_id} ({self.model}) has no {name} timestamp")
        return self.timestamps[name]

    @property
    def start(self) -> int:
        return self.at("REQUEST_START")

    @property
    def end(self) -> int:
        return self.at("REQUEST_END")

    @property
    def compute(self) -> tuple[int, int]:
        """``(COMPUTE_START, COMPUTE_END)`` in ns; an ensemble has none, so its request span."""
        if "COMPUTE_START" in self.timestamps and "COMPUTE_END" in self.timestamps:
            return self.at("COMPUTE_START"), self.at("COMPUTE_END")
        return self.start, self.end


@dataclass(frozen=True)
class RequestTimeline:
    """One top-level request and every step it ran (nested ensembles flattened)."""

    root: Span
    steps: tuple[Span, ...]

    def step(self, model: str) -> Span:
        found = [s for s in self.steps if s.model == model]
        if len(found) != 1:
            raise UserError(
                f"request {self.root.trace_id} ran {len(found)} step(s) of model {model!r}; "
                f"its steps: {', '.join(s.model for s in self.steps)}"
            )
        return found[0]

    def overlap_ns(self, first: str, second: str) -> int:
        """How long the two steps computed at the same time (0 or less: one after the other)."""
        a, b = self.step(first).compute, self.step(second).compute
        return min(a[1], b[1]) - max(a[0], b[0])


def trace_files(trace_file: Path) -> list[Path]:
    """``trace_file`` and its numbered parts, in the order Triton wrote them."""
    parts = [p for p in trace_file.parent.glob(trace_file.name + ".*") if p.suffix[1:].isdigit()]
    parts.sort(key=lambda p: int(p.suffix[1:]))
    return ([trace_file] if trace_file.is_file() else []) + parts


def load_spans(paths: Iterable[Path]) -> list[Span]:
    """Every traced execution in the files, merged by id, in id order."""
    names: dict[int, dict[str, Any]] = {}
    stamps: dict[int, dict[str, int]] = {}
    for path in paths:
        for entry in _entries(path):
            trace_id = int(entry["id"])
            if "model_name" in entry:
                names[trace_id] = entry
            for stamp in entry.get("timestamps", ()):
                stamps.setdefault(trace_id, {})[str(stamp["name"])] = int(stamp["ns"])
    spans = []
    for trace_id in sorted(names):
        info = names[trace_id]
        parent = info.get("parent_id")
        spans.append(
            Span(
                trace_id,
                str(info["model_name"]),
                int(parent) if parent else None,
                stamps.get(trace_id, {}),
            )
        )
    return spans


def timelines(spans: Sequence[Span], model: Optional[str] = None) -> list[RequestTimeline]:
    """One timeline per top-level request (of ``model`` if given) that ran steps."""
    children: dict[int, list[Span]] = {}
    for span in spans:
        if span.parent_id is not None:
            children.setdefault(span.parent_id, []).append(span)
    result = []
    for span in spans:
        if span.parent_id is not None or (model is not None and span.model != model):
            continue
        steps, pending = [], list(children.get(span.trace_id, ()))
        while pending:
            step = pending.pop()
            steps.append(step)
            pending.extend(children.get(step.trace_id, ()))
        if steps:
            steps.sort(key=functools.partial(_step_order, span.start))
            result.append(RequestTimeline(span, tuple(steps)))
    return result


def _step_order(request_start: int, step: Span) -> tuple[int, str]:
    """By start in whole ms, then name: parallel steps keep one order across requests."""
    return round((step.compute[0] - request_start) / 1e6), step.model


def _entries(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read Triton trace file {path}: {exc}") from None
    if not isinstance(data, list) or not all(isinstance(e, dict) and "id" in e for e in data):
        raise UserError(f"{path} is not a Triton trace file (a JSON array of entries with an id)")
    return data
