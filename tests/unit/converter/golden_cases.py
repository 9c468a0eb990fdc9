"""Configs with golden config.pbtxt files: each case writes its models and returns config.json.

Shared by the unit tests (compare with ``golden/<case>/<model>.pbtxt``) and the integration
test (Triton must load every generated repository).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from tests.unit.converter.golden_shapes import layouts, ranges, scalars, strings
from tests.unit.converter.seed_models import elementwise, image_model, save, write_seed


def _write(root: Path, config: dict[str, Any]) -> Path:
    path = root / "config.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def _model(name: str, base_path: str, **fields: Any) -> dict[str, Any]:
    return {"config": {"name": name, "base_path": base_path, **fields}}


def seed(root: Path) -> Path:
    return write_seed(root)


def batching(root: Path) -> Path:
    save(elementwise(["x"], "y", [-1, 4]), root / "range" / "1" / "model.xml")
    save(elementwise(["x"], "y", [1, 4]), root / "fixed" / "1" / "model.xml")
    save(elementwise(["a", "b"], "y", [1, 4]), root / "pair" / "1" / "model.xml")
    return _write(
        root,
        {
            "model_config_list": [
                _model("range_batch", "range", batch_size="1:8"),
                _model("fixed_batch", "fixed", batch_size=4),
                _model("any_batch", "fixed", batch_size="-1"),
                _model("shaped", "pair", shape={"a": "(1,2:6)", "b": "(1, 2:6)"}, batch_size=2),
                _model("one_shape", "fixed", shape="(-1,4)"),
            ]
        },
    )


def devices(root: Path) -> Path:
    save(elementwise(["x"], "y", [1, 4]), root / "m" / "1" / "model.xml")
    save(image_model(), root / "img" / "1" / "model.xml")
    return _write(
        root,
        {
            "model_config_list": [
                _model(
                    "auto_device",
                    "m",
                    target_device="",
                    nireq=2,
                    allow_cache=True,
                    plugin_config={"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1},
                ),
                _model("cpu_device", str(root / "m"), target_device="CPU"),
                _model("nhwc", "img", layout="nhwc:nchw"),
                _model("single_file", "m/1/model.xml"),
            ]
        },
    )


def versions(root: Path) -> Path:
    for version in (1, 2, 3):
        save(
            elementwise(["x"], "y", [1, 4], offset=float(version)),
            root / "m" / str(version) / "model.xml",
        )
    save(elementwise(["x"], "y", [1, 4]), root / "renamed" / "1" / "model.xml")
    (root / "renamed" / "1" / "mapping_config.json").write_text(
        json.dumps({"inputs": {"x": "pixels"}, "outputs": {"y": "scores"}}), encoding="utf-8"
    )
    return _write(
        root,
        {
            "model_config_list": [
                _model("all_versions", "m", model_version_policy={"all": {}}),
                _model("specific", "m", model_version_policy={"specific": {"versions": [1, 3]}}),
                _model("latest2", "m", model_version_policy={"latest": {"num_versions": 2}}),
                _model("default_latest", "m"),
                _model("renamed", "renamed", shape={"pixels": "(2,4)"}),
            ]
        },
    )


def pipelines(root: Path) -> Path:
    for version in (1, 2):
        save(
            elementwise(["x"], "y", [1, 4], offset=float(version)),
            root / "add" / str(version) / "model.xml",
        )
    save(elementwise(["a", "b"], "y", [1, 4], offset=0.0), root / "sum" / "1" / "model.xml")

    def source(node: str, item: str) -> dict[str, str]:
        return {"node_name": node, "data_item": item}

    diamond = {
        "name": "diamond",
        "inputs": ["in"],
        "nodes": [
            {
                "name": "left",
                "model_name": "add",
                "version": 1,
                "type": "DL model",
                "inputs": [{"x": source("request", "in")}],
                "outputs": [{"data_item": "y", "alias": "out"}],
            },
            {
                "name": "right",
                "model_name": "add",
                "version": 2,
                "type": "DL model",
                "inputs": [{"x": source("request", "in")}],
                "outputs": [
                    {"data_item": "y", "alias": "out"},
                    {"data_item": "y", "alias": "unused"},
                ],
            },
            {
                "name": "join",
                "model_name": "sum",
                "type": "DL model",
                "inputs": [{"a": source("left", "out")}, {"b": source("right", "out")}],
                "outputs": [{"data_item": "y", "alias": "total"}],
            },
        ],
        "outputs": [{"sum": source("join", "total")}, {"left": source("left", "out")}],
    }
    chain = {
        "name": "chain",
        "inputs": ["in", "extra"],
        "nodes": [
            {
                "name": "first",
                "model_name": "add",
                "type": "DL model",
                "inputs": [{"x": source("request", "in")}],
                "outputs": [{"data_item": "y", "alias": "y"}],
            },
            {
                "name": "second",
                "model_name": "add",
                "type": "DL model",
                "inputs": [{"x": source("first", "y")}],
                "outputs": [{"data_item": "y", "alias": "y"}],
            },
        ],
        "outputs": [{"out": source("second", "y")}],
    }
    return _write(
        root,
        {
            "model_config_list": [
                _model("add", "add", model_version_policy={"all": {}}),
                _model("sum", "sum"),
            ],
            "pipeline_config_list": [diamond, chain],
        },
    )


def passthrough(root: Path) -> Path:
    """OVMS features Triton ensembles lack, served through generated identity models."""
    save(elementwise(["x"], "y", [1, 4]), root / "add_one" / "1" / "model.xml")

    def source(node: str, item: str) -> dict[str, str]:
        return {"node_name": node, "data_item": item}

    echo = {  # no model node at all: the response reads the request
        "name": "echo",
        "inputs": ["in"],
        "nodes": [],
        "outputs": [{"echoed": source("request", "in")}],
    }
    copies = {  # one model output under two names, and the request input passed along
        "name": "copies",
        "inputs": ["in"],
        "nodes": [
            {
                "name": "a",
                "model_name": "add_one",
                "type": "DL model",
                "inputs": [{"x": source("request", "in")}],
                "outputs": [{"data_item": "y", "alias": "sum"}],
            }
        ],
        "outputs": [
            {"result": source("a", "sum")},
            {"result_again": source("a", "sum")},
            {"original": source("request", "in")},
        ],
    }
    return _write(
        root,
        {
            "model_config_list": [_model("add_one", "add_one")],
            "pipeline_config_list": [echo, copies],
        },
    )


CASES: dict[str, Callable[[Path], Path]] = {
    "seed": seed,
    "batching": batching,
    "devices": devices,
    "versions": versions,
    "pipelines": pipelines,
    "passthrough": passthrough,
    "layouts": layouts,
    "scalars": scalars,
    "strings": strings,
    "ranges": ranges,
}
