"""Triton's latency summaries are on in every tritonserver ovtriton starts, unless the operator
chose `summary_latencies` after `--` (the metrics endpoint is checked in
tests/integration/test_tfs_reload.py)."""

from __future__ import annotations

from pathlib import Path

from ovtriton.server import embedded
from ovtriton.server.process import Ports, TritonServer

ON = "--metrics-config=summary_latencies=true"


def command(tmp_path: Path, *extra: str) -> list[str]:
    server = TritonServer(tmp_path, ports=Ports(1, 2, 3), extra_args=extra)
    return server.command(tmp_path / "backends", embedded.locate())


def test_summaries_are_on_by_default(tmp_path: Path) -> None:
    assert command(tmp_path).count(ON) == 1


def test_the_operators_choice_after_dashdash_wins(tmp_path: Path) -> None:
    off = "--metrics-config=summary_latencies=false"
    cmd = command(tmp_path, off, "--metrics-config=summary_quantiles=0.5:0.05")
    assert ON not in cmd and off in cmd
    other = command(tmp_path, "--metrics-config=counter_latencies=false")
    assert ON in other  # another metrics setting keeps the summaries on
