"""Golden cases of OVMS's shape rules: layout before shape, scalars and string tensors.

Registered in ``golden_cases.CASES`` (golden config.pbtxt files, and served by tritonserver
in ``tests/integration/test_convert_serves.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
from openvino import opset13 as ops

from tests.unit.converter.seed_models import _named, elementwise, image_model, parameter, save


def _write(root: Path, config: dict[str, Any]) -> Path:
    path = root / "config.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def _model(name: str, base_path: str, **fields: Any) -> dict[str, Any]:
    return {"config": {"name": name, "base_path": base_path, **fields}}


def layouts(root: Path) -> Path:
    """``shape`` read in the request's layout (OVMS applies ``layout`` first), alone and in a
    pipeline whose first node transposes and whose second takes the model's NCHW output."""
    save(image_model(), root / "img" / "1" / "model.xml")
    save(elementwise(["x"], "y", [1, 3, -1, -1]), root / "add" / "1" / "model.xml")

    def source(node: str, item: str) -> dict[str, str]:
        return {"node_name": node, "data_item": item}

    laid_chain = {
        "name": "laid_chain",
        "inputs": ["in"],
        "nodes": [
            {
                "name": "add",
                "model_name": "laid_add",
                "type": "DL model",
                "inputs": [{"x": source("request", "in")}],
                "outputs": [{"data_item": "y", "alias": "y"}],
            },
            {
                "name": "mean",
                "model_name": "features",
                "type": "DL model",
                "inputs": [{"image": source("add", "y")}],
                "outputs": [{"data_item": "features", "alias": "f"}],
            },
        ],
        "outputs": [{"out": source("mean", "f")}],
    }
    return _write(
        root,
        {
            "model_config_list": [
                _model("laid_shape", "img", shape="(1,2,4,3)", layout="NHWC:NCHW"),
                _model("laid_add", "add", shape={"x": "(1,8,8,3)"}, layout={"x": "NHWC:NCHW"}),
                _model("features", "img"),
            ],
            "pipeline_config_list": [laid_chain],
        },
    )


def scalars(root: Path) -> Path:
    """0-d tensors, carried by Triton as [1], alone and from node to node."""
    save(elementwise(["x"], "y", []), root / "scalar" / "1" / "model.xml")

    def source(node: str, item: str) -> dict[str, str]:
        return {"node_name": node, "data_item": item}

    def node(name: str, origin: dict[str, str]) -> dict[str, Any]:
        return {
            "name": name,
            "model_name": "scalar",
            "type": "DL model",
            "inputs": [{"x": origin}],
            "outputs": [{"data_item": "y", "alias": "y"}],
        }

    chain = {
        "name": "scalar_chain",
        "inputs": ["in"],
        "nodes": [node("a", source("request", "in")), node("b", source("a", "y"))],
        "outputs": [{"out": source("b", "y")}],
    }
    return _write(
        root,
        {"model_config_list": [_model("scalar", "scalar")], "pipeline_config_list": [chain]},
    )


def strings(root: Path) -> Path:
    """OpenVINO string tensors served as Triton's TYPE_STRING, alone and in a pipeline."""
    text = parameter("text", [-1], ov.Type.string)
    rows = _named(ops.reshape(text, np.array([-1, 1], np.int64), False), "rows")
    count = _named(ops.shape_of(text), "count")
    save(ov.Model([rows, count], [text], "strings"), root / "str" / "1" / "model.xml")
    node = {
        "name": "s",
        "model_name": "strings",
        "type": "DL model",
        "inputs": [{"text": {"node_name": "request", "data_item": "words"}}],
        "outputs": [{"data_item": "rows", "alias": "rows"}, {"data_item": "count", "alias": "n"}],
    }
    pipeline = {
        "name": "count_words",
        "inputs": ["words"],
        "nodes": [node],
        "outputs": [
            {"rows": {"node_name": "s", "data_item": "rows"}},
            {"n": {"node_name": "s", "data_item": "n"}},
            {"echo": {"node_name": "request", "data_item": "words"}},  # an identity model
        ],
    }
    return _write(
        root,
        {"model_config_list": [_model("strings", "str")], "pipeline_config_list": [pipeline]},
    )


def ranges(root: Path) -> Path:
    """Shape ranges that overlap from node to node (1:20 feeding 15:30): converted and served;
    a size outside the second range is refused at run time naming it."""
    save(elementwise(["x"], "y", [1, -1]), root / "vec" / "1" / "model.xml")

    def node(name: str, model: str, source: str, item: str) -> dict[str, Any]:
        return {
            "name": name,
            "model_name": model,
            "type": "DL model",
            "inputs": [{"x": {"node_name": source, "data_item": item}}],
            "outputs": [{"data_item": "y", "alias": "y"}],
        }

    pipeline = {
        "name": "ranged_chain",
        "inputs": ["in"],
        "nodes": [node("a", "early", "request", "in"), node("b", "late", "a", "y")],
        "outputs": [{"out": {"node_name": "b", "data_item": "y"}}],
    }
    return _write(
        root,
        {
            "model_config_list": [
                _model("early", "vec", shape="(1,1:20)"),
                _model("late", "vec", shape="(1,15:30)"),
            ],
            "pipeline_config_list": [pipeline],
        },
    )
