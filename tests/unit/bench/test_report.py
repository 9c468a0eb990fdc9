"""The console table, the JSON document and the plot of a made-up result."""

from __future__ import annotations

import json
from pathlib import Path

from ovtriton.bench import report
from ovtriton.bench.converter_speed import ConverterTiming
from ovtriton.bench.run import BenchOptions, BenchResult
from ovtriton.bench.stats import MODES, Sample, ratios, summarize
from ovtriton.bench.targets import OneThread, targets


def _result() -> BenchResult:
    samples = [
        Sample(mode, batch, c, [10.0 + i, 12.0], 1.0, 1.0)
        for i, mode in enumerate(MODES)
        for batch in (1, 8)
        for c in (1, 2)
    ]
    samples.append(Sample("inprocess", 1, 4, [], 1.0, 0.0))  # a cell without requests: NaN
    cells = summarize(samples)
    one = OneThread(11.0, {"a": 9.0, "b": 10.0}, 10.0, {"a": 8.0, "b": 9.0})
    timing = ConverterTiming(200, 100, 1.0, 0.4, 0.9, 0.1)
    return BenchResult(
        BenchOptions(Path("config.json"), "pipe", (1, 2), (1, 8), 1, 0.5),
        {
            "nproc": 2,
            "cpu_model": "Test CPU",
            "memory_gib": 8.0,
            "python": "3.11",
            "openvino": "2026",
        },
        (1, 8),
        cells,
        ratios(cells),
        one,
        timing,
        targets(cells, one, timing.rest_s, []),
        ["a note"],
        3.0,
        load_average=(1.5, 2.5),
    )


def test_text_has_every_cell_ratios_checks_and_targets() -> None:
    text = report.text(_result())
    assert "2 cores (Test CPU), 8.0 GiB" in text
    for mode in MODES:
        assert text.count(f" {mode} ") >= 4  # batch 1 and 8, concurrency 1 and 2
    assert "ens (b)/(a) p50" in text and "pipeline/(a) p50" in text
    assert "load average (1 min) 1.5 before, 2.5 after" in text
    assert "ensemble p50 11.0 ms vs branches a 9.0 + b 10.0 ms -> 0.58" in text
    assert "beyond reading 0.60 s" in text
    assert "note: a note" in text


def test_json_replaces_nan_by_null_and_keeps_every_cell(tmp_path: Path) -> None:
    path = tmp_path / "out" / "bench.json"
    report.write_json([_result()], path)
    (doc,) = json.loads(path.read_text())["runs"]
    assert doc["modes"] == list(MODES)
    assert len(doc["cells"]) == len(MODES) * 4 + 1
    empty = next(c for c in doc["cells"] if c["requests"] == 0)
    assert empty["p50_ms"] is None
    assert doc["one_thread"]["ratio"] == 11.0 / 19.0
    assert doc["converter"]["rest_s"] == 0.6


def test_plot_writes_a_png(tmp_path: Path) -> None:
    path = tmp_path / "bench.png"
    report.write_plot([("a", _result().cells), ("b", _result().cells)], path, "test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
