"""The heavy workload's ResNet-50-shaped model (``ovtriton/bench/heavy.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openvino as ov
import pytest
from openvino import opset13 as ops

from ovtriton.bench import heavy


def test_multiply_adds_counts_convolutions_and_matrix_products() -> None:
    x = ops.parameter([1, 3, 8, 8], np.float32, name="x")
    conv = ops.convolution(x, np.ones((4, 3, 3, 3), np.float32), [1, 1], [1, 1], [1, 1], [1, 1])
    flat = ops.reshape(conv, np.array([1, 256], np.int64), False)
    out = ops.matmul(flat, np.ones((256, 5), np.float32), False, False)
    model = ov.Model([out], [x])
    # conv: 4 x 8 x 8 outputs, 3 x 3 x 3 products each; matmul: 1 x 256 x 5
    assert heavy.multiply_adds(model) == 4 * 8 * 8 * 27 + 256 * 5


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return heavy.write_heavy_workload(tmp_path_factory.mktemp("heavy"))


def test_the_heavy_model_is_resnet50_shaped(written: Path) -> None:
    core = ov.Core()
    model = core.read_model(written.parent / "resnet50" / "1" / "model.xml")
    assert [list(p.get_shape()) for p in model.inputs] == [[1, 3, 224, 224]]
    assert [list(p.get_shape()) for p in model.outputs] == [[1, 1000]]
    assert model.outputs[0].get_any_name() == "logits"
    kinds = [op.get_type_name() for op in model.get_ordered_ops()]
    assert kinds.count("Convolution") == 53  # stem + 16 blocks x 3 + 4 projections
    assert 3.9e9 < heavy.multiply_adds(model) < 4.2e9  # ResNet-50: 4.1 G multiply-adds
    weights = sum(
        int(np.prod(list(op.get_output_shape(0))))
        for op in model.get_ordered_ops()
        if op.get_type_name() == "Constant" and len(op.get_output_shape(0)) in (2, 4)
    )
    assert 25.0e6 < weights < 26.0e6  # 25.5 M parameters


def test_the_heavy_pipeline_classifies_then_takes_the_argmax(written: Path) -> None:
    config = json.loads(written.read_text())
    assert [m["config"]["name"] for m in config["model_config_list"]] == ["resnet50", "argmax"]
    [pipeline] = config["pipeline_config_list"]
    assert pipeline["name"] == heavy.PIPELINE
    assert [(n["name"], n["model_name"]) for n in pipeline["nodes"]] == [
        ("classify", "resnet50"),
        ("top", "argmax"),
    ]
    core = ov.Core()
    classify = core.compile_model(written.parent / "resnet50" / "1" / "model.xml", "CPU")
    top = core.compile_model(written.parent / "argmax" / "1" / "model.xml", "CPU")
    image = np.random.default_rng(3).random((1, 3, 224, 224), dtype=np.float32) * 255
    logits = classify(image)["logits"]
    assert np.isfinite(logits).all() and np.ptp(logits) > 0  # activations neither overflow nor die
    assert top(logits)["best"].tolist() == [[int(np.argmax(logits))]]


def test_the_bench_names_its_workloads_and_runs_one_with_tfs(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from ovtriton.cli import main

    assert main(["bench", "--workload", "heavy,large"]) == 2
    assert "workloads are seed, small, heavy" in capsys.readouterr().err
    assert main(["bench", "--tfs", "--workload", "seed,heavy"]) == 1
    assert "--tfs runs one workload at a time, not seed,heavy" in caplog.text
