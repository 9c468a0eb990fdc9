"""The in-process OVMS DAG reference (tests/custom_nodes/reference.py, which gathers with its
own np.stack, not the backend's) on pipelines written as OVMS configs, against values computed
by hand with NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from tests.custom_nodes.build import compile_library
from tests.custom_nodes.reference import run_pipeline
from tests.unit.backend.test_demultiplex_with_custom_nodes import tile_scorer


@pytest.fixture(scope="module")
def libraries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("cn")
    return {
        name: str(compile_library(name, out))
        for name in ("split_tiles", "pick_max", "add_constant")
    }


def src(node: str, item: str) -> dict[str, str]:
    return {"node_name": node, "data_item": item}


def test_custom_demultiplexer_model_per_tile_gathering_custom_node(
    libraries: dict[str, str],
) -> None:
    compiled = tile_scorer()  # (1,H,W) tile + (1,1) offset -> (1,1) sum + offset
    pipeline = {
        "name": "best_tile",
        "inputs": ["image"],
        "nodes": [
            {"name": "split", "type": "custom", "library_name": "split_tiles",
             "params": {"tiles": "4"}, "demultiply_count": -1,
             "inputs": [{"image": src("request", "image")}],
             "outputs": [{"data_item": "tiles", "alias": "tile"},
                         {"data_item": "offsets", "alias": "offset"}]},
            {"name": "score", "type": "DL model", "model_name": "scorer",
             "inputs": [{"tile": src("split", "tile")}, {"offset": src("split", "offset")}],
             "outputs": [{"data_item": "score", "alias": "score"}]},
            {"name": "best", "type": "custom", "library_name": "pick_max",
             "gather_from_node": "split",
             "inputs": [{"scores": src("score", "score")}],
             "outputs": [{"data_item": "max", "alias": "max"},
                         {"data_item": "index", "alias": "index"}]},
        ],
        "outputs": [{"best_score": src("best", "max")}, {"best_tile": src("best", "index")}],
    }  # fmt: skip
    models = {"scorer": lambda inputs: {"score": compiled(inputs)[0]}}
    image = np.random.default_rng(3).random((3, 16), np.float32)
    response = run_pipeline(pipeline, {"image": image}, models, libraries)
    expected = [image[:, 4 * t : 4 * t + 4].sum() + 4 * t for t in range(4)]
    assert response["best_tile"].tolist() == [int(np.argmax(expected))]
    np.testing.assert_allclose(response["best_score"], [max(expected)], rtol=1e-5)


def test_entry_demultiplexing_around_a_custom_node(libraries: dict[str, str]) -> None:
    pipeline = {
        "name": "plus_one", "inputs": ["x"], "demultiply_count": -1,
        "nodes": [{"name": "add", "type": "custom", "library_name": "add_constant",
                   "params": {"constant": "1"}, "inputs": [{"in": src("request", "x")}],
                   "outputs": [{"data_item": "out", "alias": "y"}]}],
        "outputs": [{"y": src("add", "y")}],
    }  # fmt: skip
    x = np.arange(12, dtype=np.float32).reshape(4, 1, 3)
    response = run_pipeline(pipeline, {"x": x}, {}, libraries)
    np.testing.assert_array_equal(response["y"], x + 1)


def nested_pipeline(outer: int, inner: int) -> dict:
    return {
        "name": "nested", "inputs": ["x"],
        "nodes": [
            {"name": "A", "type": "DL model", "model_name": "fan", "demultiply_count": outer,
             "inputs": [{"x": src("request", "x")}], "outputs": [{"data_item": "y", "alias": "a"}]},
            {"name": "B", "type": "DL model", "model_name": "fan", "demultiply_count": inner,
             "inputs": [{"x": src("A", "a")}], "outputs": [{"data_item": "y", "alias": "b"}]},
            {"name": "C", "type": "DL model", "model_name": "square",
             "inputs": [{"x": src("B", "b")}], "outputs": [{"data_item": "y", "alias": "c"}]},
        ],
        "outputs": [{"z": src("C", "c")}],
    }  # fmt: skip


def test_nested_static_demultiplexers_gathered_at_response() -> None:
    # fan: x (..) -> y (3, ..): x*10 + k for k in 0..2 ; square: y = x * x
    models = {
        "fan": lambda t: {"y": np.stack([t["x"] * 10 + k for k in range(3)])},
        "square": lambda t: {"y": t["x"] * t["x"]},
    }
    x = np.array([[[1.0, 2.0]]], np.float32)  # (1,1,2): A's output (3,1,1,2) has rank 4
    response = run_pipeline(nested_pipeline(3, 3), {"x": x}, models, {})
    assert response["z"].shape == (3, 3, 1, 1, 2)
    # branch (a, b): ((x*10 + a)*10 + b)^2
    assert response["z"][2, 1, 0, 0].tolist() == [121.0**2, 221.0**2]
    assert response["z"][0, 0, 0, 0].tolist() == [100.0**2, 200.0**2]


def test_static_count_that_does_not_match_fails_as_ovms() -> None:
    models = {"fan": lambda t: {"y": np.stack([t["x"]] * 3)}, "square": lambda t: t}
    with pytest.raises(
        ValueError,
        match=r"PIPELINE_WRONG_DIMENSION_SIZE_TO_DEMULTIPLY: node 'A' outputs have dim 0 \[3\], "
        "demultiply_count 2",
    ):
        run_pipeline(nested_pipeline(2, 3), {"x": np.zeros((1, 1, 2), np.float32)}, models, {})


def test_inputs_from_different_demultiplexing_levels_are_refused() -> None:
    pipeline = nested_pipeline(3, 3)
    pipeline["nodes"][2]["inputs"].append({"x0": src("request", "x")})  # level () with (A, B)
    models = {"fan": lambda t: {"y": np.stack([t["x"]] * 3)}, "square": lambda t: t}
    with pytest.raises(
        ValueError, match=r"different demultiplexing levels: \[\(\), \('A', 'B'\)\]"
    ):
        run_pipeline(pipeline, {"x": np.zeros((1, 1, 2), np.float32)}, models, {})
