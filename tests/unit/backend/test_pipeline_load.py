"""A pipeline converted with ``--pipelines model`` loads in the backend and answers like OVMS."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from google.protobuf import json_format, text_format
from tritonclient.grpc import model_config_pb2

from ovtriton.backend import pipeline_load, pipeline_schedule
from ovtriton.backend.errors import ModelLoadError
from ovtriton.backend.pipeline_run import PipelineRunner
from ovtriton.converter import ConversionOptions, convert, plan
from ovtriton.converter.errors import ConfigError
from tests.unit.converter.golden_cases import pipelines


def triton_config(model_dir: Path) -> dict[str, Any]:
    """config.pbtxt as Triton hands it to ``initialize`` (JSON of the ModelConfig)."""
    config = text_format.Parse(
        (model_dir / "config.pbtxt").read_text(), model_config_pb2.ModelConfig()
    )
    return json.loads(json_format.MessageToJson(config, preserving_proto_field_name=True))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pipeline_model")
    return convert(
        pipelines(root / "ovms"), root / "repo", options=ConversionOptions(pipeline_form="model")
    ).out_dir


def load(repo: Path, name: str, schedule: str = "even") -> PipelineRunner:
    config = triton_config(repo / name)
    config["parameters"]["SCHEDULE"] = {"string_value": schedule}
    return pipeline_load.load_pipeline(repo / name, "1", config)


def test_model_conversion_writes_pipeline_models_and_keeps_the_models(repo: Path) -> None:
    assert sorted(p.name for p in repo.iterdir()) == ["add", "chain", "diamond", "sum"]
    config = triton_config(repo / "diamond")
    assert config["backend"] == "openvino_py"
    assert pipeline_load.is_pipeline(config) and not pipeline_load.is_pipeline(
        triton_config(repo / "add")
    )
    assert [t["name"] for t in config["input"]] == ["in"]
    assert sorted(t["name"] for t in config["output"]) == ["left", "sum"]
    described = json.loads((repo / "diamond" / "1" / "pipeline.json").read_text())
    assert [(n["name"], n["model"], n["version"]) for n in described["nodes"]] == [
        ("left", "add", 1),
        ("right", "add", 2),
        ("join", "sum", 1),
    ]
    # a node without a version runs the highest one, as in OVMS
    chain = json.loads((repo / "chain" / "1" / "pipeline.json").read_text())
    assert [n["version"] for n in chain["nodes"]] == [2, 2]


def test_pipeline_model_answers_like_the_dag(repo: Path) -> None:
    x = np.arange(4, dtype=np.float32).reshape(1, 4)
    [result] = load(repo, "diamond").run([{"in": x}])
    assert not isinstance(result, Exception), result
    np.testing.assert_array_equal(result["left"], x + 1)  # add version 1 adds 1
    np.testing.assert_array_equal(result["sum"], (x + 1) + (x + 2))  # version 2 adds 2
    [chained] = load(repo, "chain").run([{"in": x}])
    assert not isinstance(chained, Exception), chained
    np.testing.assert_array_equal(chained["out"], x + 4)


def threads(runner: PipelineRunner) -> dict[str, int]:
    return {
        name: int(node.compiled.get_property("INFERENCE_NUM_THREADS"))  # type: ignore[attr-defined]
        for name, node in runner.nodes.items()
    }


def test_the_thread_budget_splits_the_cores_between_parallel_branches(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline_load, "available_cores", lambda: 2)  # OpenVINO caps at the real
    diamond = load(repo, "diamond")  # width 2: two nodes can run side by side
    assert diamond.spec.width() == 2
    assert threads(diamond) == {"left": 1, "right": 1, "join": 1}
    assert threads(load(repo, "chain")) == {"first": 2, "second": 2}  # width 1: all cores
    config = triton_config(repo / "chain")
    config["parameters"]["INFERENCE_NUM_THREADS"] = {"string_value": "1"}
    shared = pipeline_load.load_pipeline(repo / "chain", "1", config)
    assert threads(shared) == {"first": 1, "second": 1}


def test_load_errors_name_the_file_or_the_node_model(repo: Path, tmp_path: Path) -> None:
    config = triton_config(repo / "diamond")
    with pytest.raises(ModelLoadError, match="cannot read the pipeline file .*missing.json"):
        config["parameters"]["PIPELINE"] = {"string_value": "missing.json"}
        pipeline_load.load_pipeline(repo / "diamond", "1", config)
    described = json.loads((repo / "diamond" / "1" / "pipeline.json").read_text())
    described["nodes"][0]["version"] = 7
    (tmp_path / "diamond" / "1").mkdir(parents=True)
    (tmp_path / "diamond" / "1" / "pipeline.json").write_text(json.dumps(described))
    (tmp_path / "add").symlink_to(repo / "add")
    (tmp_path / "sum").symlink_to(repo / "sum")
    with pytest.raises(ModelLoadError, match="node model 'add' version 7: version folder"):
        pipeline_load.load_pipeline(tmp_path / "diamond", "1", triton_config(repo / "diamond"))


def test_fuse_names_one_pipeline_and_refuses_unknown_names(tmp_path: Path) -> None:
    config = pipelines(tmp_path / "ovms")
    kinds = {
        m.name: m.kind
        for m in plan(
            config, options=ConversionOptions(pipeline_models=frozenset({"chain"}))
        ).models
    }
    assert kinds == {"add": "model", "sum": "model", "diamond": "ensemble", "chain": "pipeline"}
    with pytest.raises(ConfigError, match="--pipeline-model ghost: no pipeline has that name"):
        plan(config, options=ConversionOptions(pipeline_models=frozenset({"ghost"})))


MS = 1e-3


def fake_costs(
    monkeypatch: pytest.MonkeyPatch, table: dict[str, dict[int, float]]
) -> list[list[int]]:
    """Node models cost what ``table`` says (by label); returns the thread counts asked for."""
    asked: list[list[int]] = []

    def measure(core: Any, model: Any, counts: list[int]) -> dict[int, tuple[float, Any]]:
        asked.append(list(counts))
        return {t: (table[model.label][t], model.compile(core, t)) for t in counts}

    monkeypatch.setattr(pipeline_schedule, "measure_model", measure)
    monkeypatch.setattr(pipeline_load, "available_cores", lambda: 2)
    return asked


UNBALANCED = {  # left (add v1) slow with one thread: the nodes run one after another
    "'add' version 1": {1: 12.1 * MS, 2: 6.5 * MS},
    "'add' version 2": {1: 1.5 * MS, 2: 0.9 * MS},
    "'sum' version 1": {1: 0.12 * MS, 2: 0.1 * MS},
}


def test_the_measured_schedule_is_applied_logged_and_answers_exactly(
    repo: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    asked = fake_costs(monkeypatch, UNBALANCED)
    with caplog.at_level(logging.INFO, logger="ovtriton.backend.pipeline_load"):
        runner = load(repo, "diamond", "measured")
    assert asked == [[1, 2]] * 3  # every node model, with every thread count that fits
    assert threads(runner) == {"left": 2, "right": 2, "join": 2}
    assert runner.one_at_a_time
    assert (
        "pipeline diamond: measured schedule, nodes one after another, threads join=2, left=2, "
        "right=2 (estimated 7.50 ms, 15.00 ms CPU)" in caplog.messages
    )
    x = np.array([[0.5, -3, 7, 1e6]], dtype=np.float32)
    [result] = runner.run([{"in": x}])
    assert not isinstance(result, Exception), result
    np.testing.assert_array_equal(result["left"], x + 1)
    np.testing.assert_array_equal(result["sum"], (x + 1) + (x + 2))
    spans = sorted((start, end) for _, _, start, end in runner.timings)
    assert len(spans) == 3
    assert all(end <= later for (_, end), (later, _) in zip(spans, spans[1:]))  # no overlap


def test_balanced_branches_run_side_by_side_and_a_reload_measures_again(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    balanced = {
        "'add' version 1": {1: 10 * MS, 2: 5.6 * MS},
        "'add' version 2": {1: 10 * MS, 2: 5.6 * MS},
        "'sum' version 1": {1: 1 * MS, 2: 0.6 * MS},
    }
    asked = fake_costs(monkeypatch, balanced)
    runner = load(repo, "diamond", "measured")
    assert threads(runner) == {"left": 1, "right": 1, "join": 2}
    assert not runner.one_at_a_time
    fake_costs(monkeypatch, UNBALANCED)  # the same pipeline loaded again: costs changed
    assert load(repo, "diamond", "measured").one_at_a_time
    assert len(asked) == 3


def test_overrides_win_over_the_measurement(
    repo: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    asked = fake_costs(monkeypatch, UNBALANCED)
    even = load(repo, "diamond", "even")
    assert threads(even) == {"left": 1, "right": 1, "join": 1} and not even.one_at_a_time
    config = triton_config(repo / "diamond")  # SCHEDULE not set: measured
    config["parameters"]["INFERENCE_NUM_THREADS"] = {"string_value": "1"}
    with caplog.at_level(logging.INFO, logger="ovtriton.backend.pipeline_load"):
        fixed = pipeline_load.load_pipeline(repo / "diamond", "1", config)
    assert threads(fixed) == {"left": 1, "right": 1, "join": 1} and not fixed.one_at_a_time
    assert asked == []  # neither measured anything
    assert any("INFERENCE_NUM_THREADS schedule" in m for m in caplog.messages)
    config = triton_config(repo / "diamond")
    config["parameters"]["SCHEDULE"] = {"string_value": "fastest"}
    with pytest.raises(ModelLoadError, match="parameter SCHEDULE: 'fastest' is not one of even"):
        pipeline_load.load_pipeline(repo / "diamond", "1", config)


def test_a_real_measurement_loads_and_answers_exactly(repo: Path) -> None:
    runner = load(repo, "diamond", "measured")  # the real timer, whatever it chooses
    assert set(threads(runner).values()) <= set(range(1, pipeline_load.available_cores() + 1))
    x = np.linspace(-1, 1, 4, dtype=np.float32).reshape(1, 4)
    [result] = runner.run([{"in": x}])
    assert not isinstance(result, Exception), result
    np.testing.assert_array_equal(result["sum"], (x + 1) + (x + 2))


def test_a_pipeline_models_nodes_fill_and_then_use_their_compiled_model_cache(
    tmp_path: Path,
) -> None:
    """OVMS's allow_cache on the node models: each node model's CACHE_DIR (its own folder's
    ``cache``) gets the compiled blobs at the first load and serves the second from them."""
    config = pipelines(tmp_path / "ovms")
    document = json.loads(config.read_text())
    for entry in document["model_config_list"]:
        entry["config"]["allow_cache"] = True
    config.write_text(json.dumps(document))
    repo = convert(
        config, tmp_path / "repo", options=ConversionOptions(pipeline_models={"diamond"})
    ).out_dir
    assert not (repo / "add" / "cache").exists() and not (repo / "sum" / "cache").exists()

    def from_cache(runner: PipelineRunner) -> dict[str, bool]:
        return {
            name: bool(node.compiled.get_property("LOADED_FROM_CACHE"))  # type: ignore[attr-defined]
            for name, node in runner.nodes.items()
        }

    first = load(repo, "diamond")
    blobs = {m: sorted(p.name for p in (repo / m / "cache").iterdir()) for m in ("add", "sum")}
    assert len(blobs["add"]) == 2 and len(blobs["sum"]) == 1  # add versions 1 and 2, sum 1
    assert from_cache(first) == {"left": False, "right": False, "join": False}
    first.close()
    second = load(repo, "diamond")
    assert from_cache(second) == {"left": True, "right": True, "join": True}
    assert {m: sorted(p.name for p in (repo / m / "cache").iterdir()) for m in blobs} == blobs
    second.close()
