"""Ensemble thread budgets from measured model costs (``converter/thread_budgets.py``)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from ovtriton.cli import main
from ovtriton.converter import ConversionOptions, model_cost, plan
from tests.unit.converter.golden_cases import pipelines
from tests.unit.converter.seed_models import elementwise, save

MS = 1e-3
COSTS = {  # a slow branch beside a fast one, on 4 cores
    "big": {1: 12 * MS, 2: 6.2 * MS, 4: 3.3 * MS},
    "small": {1: 1 * MS, 2: 0.6 * MS, 4: 0.5 * MS},
    "sum": {1: 0.1 * MS, 2: 0.1 * MS, 4: 0.1 * MS},
}


def unbalanced(root: Path) -> Path:
    """big and small read the request side by side; sum adds their outputs."""
    for name in ("big", "small"):
        save(elementwise(["x"], "y", [1, 4], offset=1.0), root / name / "1" / "model.xml")
    save(elementwise(["a", "b"], "y", [1, 4], offset=0.0), root / "sum" / "1" / "model.xml")

    def node(name: str, model: str, inputs: dict[str, list[str]]) -> dict[str, Any]:
        return {
            "name": name,
            "model_name": model,
            "type": "DL model",
            "inputs": [{k: {"node_name": n, "data_item": i}} for k, (n, i) in inputs.items()],
            "outputs": [{"data_item": "y", "alias": "out"}],
        }

    config = {
        "model_config_list": [
            {"config": {"name": n, "base_path": str(root / n)}} for n in ("big", "small", "sum")
        ],
        "pipeline_config_list": [
            {
                "name": "unbalanced",
                "inputs": ["in"],
                "nodes": [
                    node("slow", "big", {"x": ["request", "in"]}),
                    node("fast", "small", {"x": ["request", "in"]}),
                    node("join", "sum", {"a": ["slow", "out"], "b": ["fast", "out"]}),
                ],
                "outputs": [{"sum": {"node_name": "join", "data_item": "out"}}],
            }
        ],
    }
    path = root / "config.json"
    path.write_text(json.dumps(config))
    return path


def written_threads(repo: Path) -> dict[str, str]:
    found = {}
    for folder in sorted(p for p in repo.iterdir() if (p / "config.pbtxt").is_file()):
        config = text_format.Parse(
            (folder / "config.pbtxt").read_text(), model_config_pb2.ModelConfig()
        )
        if "INFERENCE_NUM_THREADS" in config.parameters:
            found[folder.name] = config.parameters["INFERENCE_NUM_THREADS"].string_value
    return found


@pytest.fixture
def fake_costs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[int]]]:
    """Models cost what COSTS says, on a 4-core machine; records (model, counts) measured."""
    asked: list[tuple[str, list[int]]] = []

    def measure(core: Any, model: Any, counts: list[int]) -> dict[int, float]:
        asked.append((model.entry.name, list(counts)))
        return {t: COSTS[model.entry.name][t] for t in counts}

    monkeypatch.setattr(model_cost, "measure_model", measure)
    monkeypatch.setattr(model_cost, "local_cores", lambda: 4)
    monkeypatch.setattr(model_cost, "_MEASURED", {})  # nothing measured before
    return asked


def test_the_measured_budgets_give_the_slow_branch_more_threads(
    tmp_path: Path, fake_costs: list[tuple[str, list[int]]], caplog: pytest.LogCaptureFixture
) -> None:
    config = unbalanced(tmp_path / "ovms")
    with caplog.at_level(logging.INFO, logger="ovtriton.converter.thread_budgets"):
        argv = ["convert", str(config), "-o", str(tmp_path / "repo"), "--cores", "4"]
        assert main([*argv, "--schedule", "measured"]) == 0
    assert sorted(fake_costs) == [(n, [1, 2, 4]) for n in ("big", "small", "sum")]
    # the slow branch 2 threads and the fast one 1 fit 4 cores: 6.3 ms against 6.3 ms for the
    # even split (2 each) at 13.5 ms CPU instead of 13.8 (test_schedule.py works it out)
    assert written_threads(tmp_path / "repo") == {"big": "2", "small": "1", "sum": "1"}
    assert any(
        m.startswith("ensemble unbalanced: measured schedule, branches side by side")
        for m in caplog.messages
    )


def test_the_even_schedule_and_plugin_config_override_the_measurement(
    tmp_path: Path, fake_costs: list[tuple[str, list[int]]]
) -> None:
    config = unbalanced(tmp_path / "ovms")
    argv = ["convert", str(config), "--cores", "4", "--force"]
    assert main([*argv, "-o", str(tmp_path / "even"), "--schedule", "even"]) == 0
    assert fake_costs == []
    assert written_threads(tmp_path / "even") == {"big": "2", "small": "2", "sum": "2"}
    # the default (auto): ensembles get the even split, nothing timed, the same on every run
    assert main([*argv, "-o", str(tmp_path / "auto")]) == 0
    assert fake_costs == []
    assert written_threads(tmp_path / "auto") == written_threads(tmp_path / "even")
    document = json.loads(config.read_text())
    document["model_config_list"][0]["config"]["plugin_config"] = {"INFERENCE_NUM_THREADS": 3}
    config.write_text(json.dumps(document))
    assert main([*argv, "-o", str(tmp_path / "own"), "--schedule", "measured"]) == 0
    assert sorted(name for name, _ in fake_costs) == ["small", "sum"]  # big's threads are its own
    threads = written_threads(tmp_path / "own")
    assert "big" not in threads and set(threads) == {"small", "sum"}
    assert main([*argv, "-o", str(tmp_path / "bad"), "--schedule", "fastest"]) == 2


def test_a_real_measurement_writes_budgets_that_fit_the_cores(tmp_path: Path) -> None:
    config = pipelines(tmp_path / "ovms")
    argv = ["convert", str(config), "-o", str(tmp_path / "repo"), "--cores", "2"]
    assert main([*argv, "--schedule", "measured"]) == 0
    threads = written_threads(tmp_path / "repo")
    assert set(threads) == {"add", "sum"} and set(threads.values()) <= {"1", "2"}


def test_a_model_that_did_not_change_keeps_its_costs_when_planned_again(
    tmp_path: Path, fake_costs: list[tuple[str, list[int]]]
) -> None:
    """serve --watch plans again on every config change: unchanged models are not measured
    again (same budget, no reload); a changed model file is."""
    config = unbalanced(tmp_path / "ovms")
    options = ConversionOptions(cores=4, schedule="measured")
    first = plan(config, options=options)
    assert sorted(name for name, _ in fake_costs) == ["big", "small", "sum"]
    again = plan(config, options=options)
    assert len(fake_costs) == 3 and again.changed(first) == set()
    model = tmp_path / "ovms" / "small" / "1" / "model.bin"
    os.utime(model, ns=(model.stat().st_atime_ns, model.stat().st_mtime_ns + 10**9))
    plan(config, options=options)
    assert [name for name, _ in fake_costs[3:]] == ["small"]


def test_schedule_even_is_written_into_pipeline_models(tmp_path: Path) -> None:
    config = pipelines(tmp_path / "ovms")

    def schedules(**options: Any) -> dict[str, str | None]:
        found = {}
        for model in plan(config, options=ConversionOptions(**options)).models:
            if model.kind == "pipeline":
                parsed = text_format.Parse(model.config_text, model_config_pb2.ModelConfig())
                value = parsed.parameters.get("SCHEDULE")
                found[model.name] = value.string_value if value is not None else None
        return found

    assert schedules(pipeline_form="model") == {"diamond": None, "chain": None}  # measured
    even = schedules(pipeline_form="model", schedule="even")
    assert even == {"diamond": "even", "chain": "even"}
