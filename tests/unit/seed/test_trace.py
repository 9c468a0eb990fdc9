"""Parsing Triton's trace files into per-request timelines, on a small hand-made trace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ovtriton.errors import UserError
from ovtriton.seed import timeline
from ovtriton.seed.trace import load_spans, timelines, trace_files

MS = 1_000_000


def _entries(trace_id: int, model: str, parent: int | None, **stamps: float) -> list[dict]:
    head: dict = {"id": trace_id, "model_name": model, "model_version": 1}
    if parent is not None:
        head["parent_id"] = parent
    # Triton writes one entry per timestamp, each with the trace id.
    return [head] + [
        {"id": trace_id, "timestamps": [{"name": name, "ns": int(at * MS)}]}
        for name, at in stamps.items()
    ]


def _step(
    trace_id: int, model: str, parent: int, start: float, compute: float, end: float
) -> list[dict]:
    return _entries(
        trace_id,
        model,
        parent,
        REQUEST_START=start,
        QUEUE_START=start,
        COMPUTE_START=compute,
        COMPUTE_END=end,
        REQUEST_END=end,
    )


def write_trace(folder: Path) -> Path:
    """Request 1: a and b overlap from 2 to 8 ms. Request 5: b starts after a has ended."""
    parallel = (
        _entries(1, "pipe", None, REQUEST_START=0, REQUEST_END=12)
        + _step(2, "a", 1, 0.5, 1, 8)
        + _step(3, "b", 1, 1, 2, 10)
        + _step(4, "sum", 1, 10, 10.5, 11.5)
    )
    serial = (
        _entries(5, "pipe", None, REQUEST_START=100, REQUEST_END=130)
        + _step(6, "a", 5, 101, 101, 110)
        + _step(7, "b", 5, 110, 112, 120)
        + _step(8, "sum", 5, 120, 121, 129)
    )
    trace_file = folder / "trace.json"
    # As with triton,log-frequency=1: numbered parts; .10 sorts after .2.
    (folder / "trace.json.0").write_text(json.dumps(parallel))
    (folder / "trace.json.10").write_text(json.dumps(serial[:7]))
    (folder / "trace.json.2").write_text(json.dumps(serial[7:]))
    (folder / "trace.json.bak").write_text("not a part")
    return trace_file


def test_trace_files_are_the_numbered_parts_in_number_order(tmp_path: Path) -> None:
    trace_file = write_trace(tmp_path)
    assert [p.name for p in trace_files(trace_file)] == [
        "trace.json.0",
        "trace.json.2",
        "trace.json.10",
    ]


def test_timelines_group_steps_under_their_ensemble_request_when_split_across_files(
    tmp_path: Path,
) -> None:
    spans = load_spans(trace_files(write_trace(tmp_path)))
    found = timelines(spans, "pipe")
    assert [t.root.trace_id for t in found] == [1, 5]
    assert [s.model for s in found[0].steps] == ["a", "b", "sum"]
    assert found[1].step("b").compute == (112 * MS, 120 * MS)
    assert found[1].root.end - found[1].root.start == 30 * MS


def test_overlap_is_positive_only_when_the_steps_computed_at_the_same_time(tmp_path: Path) -> None:
    parallel, serial = timelines(load_spans(trace_files(write_trace(tmp_path))), "pipe")
    assert parallel.overlap_ns("a", "b") == 6 * MS
    assert serial.overlap_ns("a", "b") < 0


def test_text_timeline_shows_each_step_and_the_verdict(tmp_path: Path) -> None:
    parallel, serial = timelines(load_spans(trace_files(write_trace(tmp_path))), "pipe")
    lines = timeline.text_lines(parallel, 1, ("a", "b"))
    assert lines[0] == "request 1 (trace 1) pipe: 12.00 ms"
    assert lines[2].split()[:4] == ["a", "0.50", "1.00", "8.00"]
    assert "a and b computed in parallel for 6.00 ms" in lines[-1]
    assert "did NOT overlap" in timeline.text_lines(serial, 2, ("a", "b"))[-1]


def test_png_timeline_is_written(tmp_path: Path) -> None:
    found = timelines(load_spans(trace_files(write_trace(tmp_path))), "pipe")
    picture = timeline.save_png(found, tmp_path / "out" / "timeline.png", "pipe")
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_step_lookup_names_the_steps_when_the_model_is_missing(tmp_path: Path) -> None:
    found = timelines(load_spans(trace_files(write_trace(tmp_path))), "pipe")
    with pytest.raises(UserError, match="ran 0 step"):
        found[0].step("c")


def test_load_spans_refuses_a_file_that_is_not_a_trace(tmp_path: Path) -> None:
    bad = tmp_path / "trace.json"
    bad.write_text('{"id": 1}')
    with pytest.raises(UserError, match="not a Triton trace file"):
        load_spans([bad])
