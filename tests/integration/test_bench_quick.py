"""`ovtriton bench` end to end on a tiny diamond pipeline (two branches and a join), in seconds.

Checked: every mode, batch and concurrency is there with numbers that make sense, and every
mode (in-process configurations, ensemble, pipeline model, floors, chaining) answered what the
in-process DAG answers. No timings or ratios are asserted (the machine is shared).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openvino as ov
import pytest
from openvino import opset13 as ops

from ovtriton.bench.stats import MODES
from ovtriton.cli import main
from tests.models import save

pytestmark = pytest.mark.integration


def _unary(name: str, factor: float) -> ov.Model:
    x = ops.parameter([1, 4], np.float32, name="x")
    y = ops.multiply(x, ops.constant(np.float32(factor)))
    y.output(0).get_tensor().set_names({"y"})
    return ov.Model([y], [x], name)


def _join() -> ov.Model:
    a = ops.parameter([1, 4], np.float32, name="a")
    b = ops.parameter([1, 4], np.float32, name="b")
    s = ops.add(a, b)
    s.output(0).get_tensor().set_names({"sum"})
    return ov.Model([s], [a, b], "join")


def _config(root: Path) -> Path:
    save(_unary("left", 2.0), root / "models" / "left" / "1")
    save(_unary("right", 3.0), root / "models" / "right" / "1")
    save(_join(), root / "models" / "join" / "1")

    def node(name, model, inputs, output):
        return {
            "name": name,
            "model_name": model,
            "type": "DL model",
            "inputs": inputs,
            "outputs": [{"data_item": output, "alias": "out"}],
        }

    doc = {
        "model_config_list": [
            {"config": {"name": n, "base_path": f"models/{n}"}} for n in ("left", "right", "join")
        ],
        "pipeline_config_list": [
            {
                "name": "diamond",
                "inputs": ["x"],
                "nodes": [
                    node("l", "left", [{"x": {"node_name": "request", "data_item": "x"}}], "y"),
                    node("r", "right", [{"x": {"node_name": "request", "data_item": "x"}}], "y"),
                    node(
                        "j",
                        "join",
                        [
                            {"a": {"node_name": "l", "data_item": "out"}},
                            {"b": {"node_name": "r", "data_item": "out"}},
                        ],
                        "sum",
                    ),
                ],
                "outputs": [{"total": {"node_name": "j", "data_item": "out"}}],
            }
        ],
    }
    path = root / "config.json"
    path.write_text(json.dumps(doc))
    return path


def test_bench_quick_writes_every_mode_batch_and_concurrency(tmp_path: Path) -> None:
    config = _config(tmp_path / "ovms")
    out, plot = tmp_path / "bench.json", tmp_path / "bench.png"
    code = main(
        [
            "bench",
            "--config",
            str(config),
            "--pipeline",
            "diamond",
            "--concurrency",
            "1,2",
            "--batch",
            "1,2",
            "--rounds",
            "1",
            "--duration",
            "0.3",
            "--skip-converter",
            "--json",
            str(out),
            "--plot",
            str(plot),
            "--workdir",
            str(tmp_path / "work"),
        ]
    )
    assert code == 0
    (doc,) = json.loads(out.read_text())["runs"]
    assert doc["batches"] == [1, 2]
    found = {(c["mode"], c["batch"], c["concurrency"]): c for c in doc["cells"]}
    assert set(found) == {(m, b, c) for m in MODES for b in (1, 2) for c in (1, 2)}
    for cell in found.values():
        assert cell["requests"] > 0
        assert 0 < cell["p50_ms"] <= cell["p90_ms"] <= cell["p99_ms"]
        assert cell["throughput"] > 0 and cell["cpu_cores"] >= 0
    assert {(r["batch"], r["concurrency"]) for r in doc["ratios"]} == {
        (1, 1),
        (1, 2),
        (2, 1),
        (2, 2),
    }
    one = doc["one_thread"]
    assert set(one["branch_p50_ms"]) == {"left__1t", "right__1t"} and one["ratio"] > 0
    assert doc["mismatches"] == []
    assert len(doc["targets"]) == 13 and doc["converter"] is None  # 2 throughput per batch
    assert doc["targets"][-1]["holds"] is True  # every mode returned the same outputs
    assert all(r["limit_mode"].startswith("inprocess") for r in doc["ratios"])
    assert all(r["pipeline_vs_inprocess_p50"] > 0 for r in doc["ratios"])
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_bench_converter_only_times_the_converter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--converter-only"]) == 0
    assert "200 models + 100 pipelines" in capsys.readouterr().out
