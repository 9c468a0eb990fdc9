"""`ovtriton bench --tfs` end to end on a tiny diamond pipeline: the TFS front, KServe through
the front and Triton's own gRPC, interleaved, at concurrency 1 and 8. Only the shape of the
results is checked (the machine is shared): the figures are in docs/notes/tfs.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ovtriton.cli import main
from ovtriton.bench.front import MODES
from tests.integration.test_bench_quick import _config

pytestmark = pytest.mark.integration


def test_bench_tfs_measures_the_three_paths_and_the_two_ratios(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path / "ovms")
    out = tmp_path / "tfs.json"
    argv = ["bench", "--tfs", "--config", str(config), "--pipeline", "diamond"]
    argv += ["--rounds", "1", "--duration", "0.3", "--json", str(out)]
    assert main([*argv, "--workdir", str(tmp_path / "work")]) == 0
    doc = json.loads(out.read_text())
    found = {(c["mode"], c["concurrency"]): c for c in doc["cells"]}
    assert set(found) == {(m, c) for m in MODES for c in (1, 8)}
    for cell in found.values():
        assert cell["requests"] > 0 and 0 < cell["p50_ms"] <= cell["p90_ms"]
        assert cell["throughput"] > 0 and cell["cpu_ms_per_inference"] > 0
        # CPU split by stage: every process took part, and the stages add up to the total
        assert list(cell["cpu_ms_by_stage"]) == ["client", "triton", "stubs", "front"]
        assert sum(cell["cpu_ms_by_stage"].values()) == pytest.approx(cell["cpu_ms_per_inference"])
    tfs, triton = found[("tfs_grpc", 1)], found[("triton_grpc", 1)]
    assert doc["ratios"]["p50_c1"] == pytest.approx(tfs["p50_ms"] / triton["p50_ms"])
    tfs, triton = found[("tfs_grpc", 8)], found[("triton_grpc", 8)]
    assert doc["ratios"]["throughput_c8"] == pytest.approx(tfs["throughput"] / triton["throughput"])
    printed = capsys.readouterr().out
    assert "TFS/Triton p50 at concurrency 1:" in printed
    assert "TFS/Triton throughput at concurrency 8:" in printed
    assert "client " in printed and " / front " in printed  # the split in the table
