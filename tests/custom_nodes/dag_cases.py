"""OVMS configs with custom nodes and demultiplexing, in the shapes of OVMS's documentation.

``write_dag_config(root)`` compiles the test libraries, saves small opset-built models and writes
one ``config.json`` with these pipelines (every one compared with ``reference.py`` by the tests):

- ``crop_classify``: model -> custom node demultiplexing dynamically (-1) -> model per slice ->
  custom node with ``gather_from_node``;
- ``crop_static`` / ``crop_mismatch``: the same with ``demultiply_count`` 4, whose library
  gives 4 resp. 4 tiles for a count of 3 (OVMS's wrong-dimension error on every request);
- ``scores``: a dynamic demultiplexer gathered by the response (``[-1, 1]``);
- ``entry``: pipeline-level ``demultiply_count: -1`` around custom node -> model;
- ``entry_gather``: the entry demultiplexing (-1), a model per shard, then a custom node with
  ``gather_from_node: "request"`` (OVMS's DemultiplyThenDummyThenChooseMaximum test config);
- ``chain``: custom node -> model -> custom node;
- ``nested``: a static demultiplexer inside another (OVMS nests only static ones), the inner
  one gathered at a custom node, the outer one by the response;
- ``slow``: 4 sub-requests, each through a custom node sleeping ``SLEEP_MS`` that then waits
  until all 4 are inside it at once (overlap proof: one after the other, they give up);
- ``failing``: a library whose ``execute`` returns 7.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable

import numpy as np
import openvino as ov
from openvino import opset13 as ops

from tests.custom_nodes.build import compile_library

LIBRARIES = {
    "split": "split_tiles",
    "pick": "pick_max",
    "add": "add_constant",
    "fail": "failing",
    "echo": "echo",
}
SLEEP_MS = 300  # each sub-request of ``slow`` sleeps this long in its custom node
SLOW_TILES = 4


def _models() -> dict[str, ov.Model]:
    x = ops.parameter([-1, -1], np.float32, name="x")
    doubled = ops.multiply(x, ops.constant(np.float32(2)))
    doubled.output(0).get_tensor().set_names({"y"})
    tile = ops.parameter([1, -1, -1], np.float32, name="tile")
    score = ops.reduce_sum(tile, ops.constant(np.array([1, 2], np.int64)), keep_dims=False)
    score.output(0).get_tensor().set_names({"score"})
    tile2 = ops.parameter([1, -1, -1], np.float32, name="tile")
    image = ops.squeeze(tile2, ops.constant(np.array([0], np.int64)))
    image.output(0).get_tensor().set_names({"image"})
    fixed = ops.parameter([2, 1, 3], np.float32, name="x")
    same = ops.multiply(fixed, ops.constant(np.float32(1)))
    same.output(0).get_tensor().set_names({"y"})
    return {
        "fixed": ov.Model([same], [fixed], "fixed"),  # static dims, for load-time checks
        "double": ov.Model([doubled], [x], "double"),
        "tile_score": ov.Model([score], [tile], "tile_score"),
        "squeeze": ov.Model([image], [tile2], "squeeze"),
    }


def _src(node: str, item: str) -> dict[str, str]:
    return {"node_name": node, "data_item": item}


def _node(
    name: str, inputs: dict[str, tuple[str, str]], outputs: dict[str, str], **kw: Any
) -> dict:
    kind = {"type": "custom"} if "library_name" in kw else {"type": "DL model"}
    return {
        "name": name,
        **kind,
        **kw,
        "inputs": [{key: _src(*source)} for key, source in inputs.items()],
        "outputs": [{"data_item": item, "alias": alias} for item, alias in outputs.items()],
    }


def _crop(name: str, count: int, tiles: int) -> dict:
    return {
        "name": name,
        "inputs": ["image"],
        "nodes": [
            _node("prep", {"x": ("request", "image")}, {"y": "doubled"}, model_name="double"),
            _node("split", {"image": ("prep", "doubled")}, {"tiles": "tiles"}, library_name="split",
                  params={"tiles": str(tiles)}, demultiply_count=count),
            _node("score", {"tile": ("split", "tiles")}, {"score": "score"}, model_name="tile_score"),
            _node("best", {"scores": ("score", "score")}, {"max": "max", "index": "index"},
                  library_name="pick", gather_from_node="split"),
        ],
        "outputs": [{"max": _src("best", "max")}, {"index": _src("best", "index")}],
    }  # fmt: skip


def pipelines() -> list[dict]:
    add = {"library_name": "add", "params": {"constant": "1", "offset": "0.5"}}
    return [
        _crop("crop_classify", -1, 3),
        _crop("crop_static", 4, 4),
        _crop("crop_mismatch", 3, 4),
        {
            "name": "scores",
            "inputs": ["image"],
            "nodes": [
                _node("split", {"image": ("request", "image")}, {"tiles": "tiles"},
                      library_name="split", params={"tiles": "2"}, demultiply_count=-1),
                _node("score", {"tile": ("split", "tiles")}, {"score": "s"}, model_name="tile_score"),
            ],
            "outputs": [{"scores": _src("score", "s")}],
        },
        {
            "name": "entry",
            "inputs": ["x"],
            "demultiply_count": -1,
            "nodes": [
                _node("add", {"in": ("request", "x")}, {"out": "added"}, **add),
                _node("dbl", {"x": ("add", "added")}, {"y": "doubled"}, model_name="double"),
            ],
            "outputs": [{"y": _src("dbl", "doubled")}],
        },
        {
            "name": "entry_gather",
            "inputs": ["image"],
            "demultiply_count": -1,
            "nodes": [
                _node("score", {"tile": ("request", "image")}, {"score": "s"}, model_name="tile_score"),
                _node("best", {"scores": ("score", "s")}, {"max": "max", "index": "index"},
                      library_name="pick", gather_from_node="request"),
            ],
            "outputs": [{"max": _src("best", "max")}, {"index": _src("best", "index")}],
        },
        {
            "name": "chain",
            "inputs": ["x"],
            "nodes": [
                _node("first", {"in": ("request", "x")}, {"out": "a"}, **add),
                _node("dbl", {"x": ("first", "a")}, {"y": "b"}, model_name="double"),
                _node("last", {"in": ("dbl", "b")}, {"out": "c"}, library_name="add",
                      params={"constant": "10"}),
            ],
            "outputs": [{"out": _src("last", "c")}],
        },
        {
            "name": "nested",
            "inputs": ["image"],
            "nodes": [
                _node("outer", {"image": ("request", "image")}, {"tiles": "halves"},
                      library_name="split", params={"tiles": "2"}, demultiply_count=2),
                _node("flat", {"tile": ("outer", "halves")}, {"image": "half"}, model_name="squeeze"),
                _node("inner", {"image": ("flat", "half")}, {"tiles": "quarters"},
                      library_name="split", params={"tiles": "2"}, demultiply_count=2),
                _node("score", {"tile": ("inner", "quarters")}, {"score": "s"}, model_name="tile_score"),
                _node("best", {"scores": ("score", "s")}, {"max": "max", "index": "index"},
                      library_name="pick", gather_from_node="inner"),
            ],
            "outputs": [{"max": _src("best", "max")}, {"index": _src("best", "index")}],
        },
        {
            "name": "slow",
            "inputs": ["image"],
            "nodes": [
                _node("split", {"image": ("request", "image")}, {"tiles": "tiles"},
                      library_name="split", params={"tiles": str(SLOW_TILES)}, demultiply_count=-1),
                _node("sleep", {"any": ("split", "tiles")}, {"any": "slept"}, library_name="echo",
                      params={"sleep_ms": str(SLEEP_MS), "meet": str(SLOW_TILES), "rank": "3"}),
                _node("score", {"tile": ("sleep", "slept")}, {"score": "s"}, model_name="tile_score"),
            ],
            "outputs": [{"scores": _src("score", "s")}],
        },
        {
            "name": "failing",
            "inputs": ["x"],
            "nodes": [_node("broken", {"x": ("request", "x")}, {"y": "y"}, library_name="fail")],
            "outputs": [{"y": _src("broken", "y")}],
        },
    ]  # fmt: skip


def write_dag_config(root: Path) -> Path:
    """``root/config.json`` with the models under ``root/models`` and the libraries under
    ``root/lib``; returns the config's path."""
    (root / "lib").mkdir(parents=True, exist_ok=True)
    libraries = []
    for name, source in LIBRARIES.items():
        path = compile_library(source, root / "lib")
        libraries.append({"name": name, "base_path": str(path.relative_to(root))})
    entries = []
    for name, model in _models().items():
        ov.save_model(model, root / "models" / name / "1" / "model.xml")
        entries.append({"config": {"name": name, "base_path": f"models/{name}"}})
    config = {
        "model_config_list": entries,
        "custom_node_library_config_list": libraries,
        "pipeline_config_list": pipelines(),
    }
    path = root / "config.json"
    path.write_text(json.dumps(config, indent=1))
    return path


def reference(root: Path, name: str, request: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The in-process reference's answer of pipeline ``name`` (``reference.run_pipeline``)."""
    from tests.custom_nodes.reference import run_pipeline

    core = ov.Core()
    models: dict[str, Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]] = {}
    for model_name in _models():
        compiled = core.compile_model(root / "models" / model_name / "1" / "model.xml", "CPU")

        def run(inputs: dict[str, np.ndarray], compiled: ov.CompiledModel = compiled) -> dict:
            result = compiled(inputs)
            return {out.get_any_name(): np.array(result[out]) for out in compiled.outputs}

        models[model_name] = run
    config = json.loads((root / "config.json").read_text())
    pipeline = next(p for p in config["pipeline_config_list"] if p["name"] == name)
    libraries = {
        lib["name"]: str(root / lib["base_path"])
        for lib in config["custom_node_library_config_list"]
    }
    return run_pipeline(pipeline, request, models, libraries)
