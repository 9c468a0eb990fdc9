"""The bench config derived from an OVMS config, and the DAG read back from an ensemble config."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ovtriton.bench.walker import StepFailed, walk
from ovtriton.bench.workload import (
    PIPELINE_MODEL,
    ONE_THREAD,
    Dag,
    Step,
    Tensor,
    bench_document,
    prepare,
)
from ovtriton.converter import read_config
from ovtriton.converter.ovms import OvmsConfig
from ovtriton.errors import UserError

DOC = {
    "model_config_list": [
        {"config": {"name": "a", "base_path": "models/a"}},
        {"config": {"name": "b", "base_path": "/abs/b", "shape": "(1,4)"}},
        {"config": {"name": "unused", "base_path": "models/u"}},
    ],
    "pipeline_config_list": [
        {
            "name": "pipe",
            "inputs": ["x"],
            "nodes": [
                {"name": "n1", "model_name": "a", "type": "DL model", "inputs": [], "outputs": []},
                {"name": "n2", "model_name": "b", "type": "DL model", "inputs": [], "outputs": []},
            ],
            "outputs": [],
        }
    ],
}


def _parsed(tmp_path: Path) -> OvmsConfig:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(DOC))
    return read_config(path)


def test_bench_document_adds_batch_ranges_and_one_thread_copies(tmp_path: Path) -> None:
    doc = bench_document(DOC, _parsed(tmp_path), tmp_path, "pipe", 8)
    entries = {item["config"]["name"]: item["config"] for item in doc["model_config_list"]}
    assert entries["a"]["base_path"] == str(tmp_path / "models" / "a")
    assert entries["a"]["batch_size"] == "1:8"
    assert "batch_size" not in entries["b"]  # shape wins in OVMS: left alone
    assert entries["a" + ONE_THREAD]["plugin_config"] == {"INFERENCE_NUM_THREADS": 1}
    assert "unused" + ONE_THREAD not in entries
    names = [p["name"] for p in doc["pipeline_config_list"]]
    assert names == ["pipe", "pipe" + ONE_THREAD, "pipe" + PIPELINE_MODEL]
    assert [n["model_name"] for n in doc["pipeline_config_list"][1]["nodes"]] == ["a__1t", "b__1t"]
    assert "batch_size" not in DOC["model_config_list"][0]["config"]  # the input is not changed


def test_bench_document_refuses_an_unknown_pipeline(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"pipeline 'nope' is not in the config; it has \['pipe'\]"):
        bench_document(DOC, _parsed(tmp_path), tmp_path, "nope", 1)


def test_tensor_shape_puts_the_batch_first() -> None:
    assert Tensor("x", "FP32", (-1, 3, 224, 224)).shape(8) == (8, 3, 224, 224)
    assert Tensor("x", "FP32", (1, -1)).shape(2) == (2, 1)
    assert Tensor("x", "INT64", ()).random(1, np.random.default_rng(0)).dtype == np.int64


DIAMOND = Dag(
    "d",
    (Tensor("x", "FP32", (-1,)),),
    (Tensor("out", "FP32", (-1,)),),
    (
        Step("left", (("i", "x"),), (("o", "l"),)),
        Step("right", (("i", "x"),), (("o", "r"),)),
        Step("join", (("a", "l"), ("b", "r")), (("o", "out"),)),
    ),
)


def test_walk_starts_both_branches_before_the_join() -> None:
    started: list[str] = []

    def launch(step, tensors, done):  # type: ignore[no-untyped-def]
        started.append(step.model)
        if step.model == "join":
            done({"o": tensors["a"] + tensors["b"]}, None)
        elif step.model == "left":
            done({"o": tensors["i"] * 2}, None)
        else:
            done({"o": tensors["i"] * 3}, None)

    out = walk(DIAMOND, {"x": np.ones(2, np.float32)}, launch)
    assert started[:2] == ["left", "right"] and started[2] == "join"
    np.testing.assert_array_equal(out["out"], [5, 5])
    assert DIAMOND.branches() == ("left", "right")


def test_walk_names_the_failing_model() -> None:
    def launch(step, tensors, done):  # type: ignore[no-untyped-def]
        done(
            None, RuntimeError("boom") if step.model == "right" else None
        ) if step.model == "right" else done({"o": tensors["i"]}, None)

    with pytest.raises(StepFailed, match="model 'right': boom"):
        walk(DIAMOND, {"x": np.ones(2, np.float32)}, launch)


def test_prepare_refuses_a_broken_config_as_a_user_error_naming_the_field(tmp_path: Path) -> None:
    broken = json.loads(json.dumps(DOC))
    del broken["model_config_list"][0]["config"]["base_path"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(UserError, match=r"model_config_list\[0\]\.config.*base_path"):
        prepare(path, "pipe", tmp_path / "work", 1)
