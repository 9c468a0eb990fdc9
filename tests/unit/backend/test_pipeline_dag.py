"""OVMS DAGs with custom nodes and demultiplexing: converted, loaded as a pipeline model in
process, answers compared with the in-process reference (``tests/custom_nodes/reference.py``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ovtriton.backend import pipeline_load
from ovtriton.backend.custom_node import CustomNodeError, CustomNodeLoadError
from ovtriton.backend.demultiplex import DemultiplexError
from ovtriton.backend.pipeline_run import PipelineRunner
from ovtriton.converter import convert
from ovtriton.converter.errors import ConfigError
from tests.custom_nodes.dag_cases import SLOW_TILES, reference, write_dag_config
from tests.unit.backend.test_pipeline_load import triton_config

RNG = np.random.default_rng(13)
REQUESTS = {
    "crop_classify": {"image": RNG.random((4, 12), np.float32)},
    "crop_static": {"image": RNG.random((3, 8), np.float32)},
    "scores": {"image": RNG.random((2, 6), np.float32)},
    "entry": {"x": RNG.random((3, 2, 3), np.float32)},
    "entry_gather": {"image": RNG.random((3, 1, 2, 4), np.float32)},
    "chain": {"x": RNG.random((5, 3), np.float32)},
    "nested": {"image": RNG.random((4, 16), np.float32)},
}
# declared inputs/outputs (config.pbtxt): OVMS's shapes, the gathered dimensions in front
DECLARED = {
    "crop_classify": {"image": [-1, -1], "max": [1], "index": [1]},
    "scores": {"image": [-1, -1], "scores": [-1, 1]},
    "entry": {"x": [-1, -1, 3], "y": [-1, -1, -1]},
    "entry_gather": {"image": [-1, 1, -1, -1], "max": [1], "index": [1]},
    "chain": {"x": [-1, 3], "out": [-1, 3]},
    "nested": {"image": [-1, -1], "max": [2, 1], "index": [2, 1]},
}


@pytest.fixture(scope="module")
def dag(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("dag")
    config = write_dag_config(root / "ovms")
    return root / "ovms", convert(config, root / "repo").out_dir


def load(repo: Path, name: str) -> PipelineRunner:
    return pipeline_load.load_pipeline(repo / name, "1", triton_config(repo / name))


def test_dag_pipelines_become_pipeline_models_with_their_libraries(dag: tuple[Path, Path]) -> None:
    _, repo = dag
    for name, declared in DECLARED.items():
        config = triton_config(repo / name)
        assert pipeline_load.is_pipeline(config)
        dims = {t["name"]: [int(d) for d in t["dims"]] for t in config["input"] + config["output"]}
        assert dims == declared, name
    described = json.loads((repo / "crop_classify" / "1" / "pipeline.json").read_text())
    split = next(node for node in described["nodes"] if node["name"] == "split")
    assert split["kind"] == "custom" and split["demultiply_count"] == -1
    assert (repo / "crop_classify" / "1" / split["library"]).is_file()


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_answers_equal_the_reference(dag: tuple[Path, Path], name: str) -> None:
    ovms, repo = dag
    runner = load(repo, name)
    try:
        [result] = runner.run([REQUESTS[name]])
    finally:
        runner.close()
    assert not isinstance(result, Exception), result
    expected = reference(ovms, name, REQUESTS[name])
    assert sorted(result) == sorted(expected)
    for key, value in expected.items():
        assert result[key].dtype == value.dtype and result[key].shape == value.shape, key
        np.testing.assert_allclose(result[key], value, rtol=1e-5)


def test_several_requests_of_one_execute_keep_their_branches_apart(dag: tuple[Path, Path]) -> None:
    ovms, repo = dag
    requests = [{"x": RNG.random((n, 2, 3), np.float32)} for n in (1, 4, 2)]
    runner = load(repo, "entry")
    try:
        results = runner.run(requests)
    finally:
        runner.close()
    for request, result in zip(requests, results):
        assert not isinstance(result, Exception), result
        np.testing.assert_allclose(result["y"], reference(ovms, "entry", request)["y"], rtol=1e-6)


def test_a_count_that_does_not_match_the_data_is_ovms_error(dag: tuple[Path, Path]) -> None:
    _, repo = dag
    [result] = load(repo, "crop_mismatch").run([{"image": np.ones((2, 8), np.float32)}])
    assert isinstance(result, DemultiplexError)
    assert result.status == "PIPELINE_WRONG_DIMENSION_SIZE_TO_DEMULTIPLY"
    assert "node 'split' output 'tiles' of shape [4, 1, 2, 2]: dim 0 must be 3" in str(result)
    # entry demultiplexing needs rank 3 or more (OVMS's code)
    [flat] = load(repo, "entry").run([{"x": np.ones((2, 3), np.float32)}])
    assert isinstance(flat, DemultiplexError)
    assert flat.status == "PIPELINE_WRONG_NUMBER_OF_DIMENSIONS_TO_DEMULTIPLY"


def test_a_failing_library_names_the_node_and_the_library(dag: tuple[Path, Path]) -> None:
    _, repo = dag
    [result] = load(repo, "failing").run([{"x": np.ones(1, np.float32)}])
    assert isinstance(result, CustomNodeError)
    assert "custom node 'broken' (library " in str(result)
    assert "libfailing.so): execute returned 7" in str(result)


def test_a_library_failing_init_fails_the_load_and_the_conversion(
    dag: tuple[Path, Path], tmp_path: Path
) -> None:
    ovms, repo = dag
    shutil.copytree(repo / "failing", tmp_path / "failing")  # the shared repository stays intact
    described_path = tmp_path / "failing" / "1" / "pipeline.json"
    described = json.loads(described_path.read_text())
    described["nodes"][0]["params"] = {"fail_init": "1"}
    described_path.write_text(json.dumps(described))
    with pytest.raises(CustomNodeLoadError, match=r"libfailing\.so.*initialize.* 3"):
        load(tmp_path, "failing")
    config = json.loads((ovms / "config.json").read_text())
    index = next(i for i, p in enumerate(config["pipeline_config_list"]) if p["name"] == "failing")
    failing = config["pipeline_config_list"][index]
    failing["nodes"][0]["params"] = {"fail_init": "1"}
    (ovms / "broken.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError) as caught:
        convert(ovms / "broken.json", tmp_path / "repo")
    assert caught.value.paths == [f"pipeline_config_list[{index}].nodes[0].library_name"]
    assert "libfailing.so" in str(caught.value)


def test_sub_requests_are_in_flight_together(dag: tuple[Path, Path]) -> None:
    _, repo = dag
    runner = load(repo, "slow")
    try:  # the node's "meet": each sub-request waits inside it for the other three
        [result] = runner.run([{"image": np.ones((2, 4 * SLOW_TILES), np.float32)}])
    finally:
        runner.close()
    assert not isinstance(result, Exception), result
    sleeps = [(start, end) for _, node, start, end in runner.timings if node.startswith("sleep[")]
    assert len(sleeps) == SLOW_TILES
    assert max(start for start, _ in sleeps) < min(end for _, end in sleeps)  # all overlap
