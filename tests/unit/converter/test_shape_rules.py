"""OVMS's shape rules through ``convert`` with real models: layout before shape, range overlap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openvino as ov
import pytest
from openvino import opset13 as ops
from ovtriton.converter import ConfigError, convert, plan
from ovtriton.converter.pbtxt import from_text

from tests.unit.converter.seed_models import _named, elementwise, image_model, parameter, save

P = "pipeline_config_list[0]"


def _src(node: str, item: str) -> dict[str, str]:
    return {"node_name": node, "data_item": item}


def _chain(first: str, second: str) -> dict[str, Any]:
    """request -> first (x -> y) -> second (x -> y) -> response."""
    return {
        "name": "pipe",
        "inputs": ["in"],
        "nodes": [
            {
                "name": "a",
                "model_name": first,
                "type": "DL model",
                "inputs": [{"x": _src("request", "in")}],
                "outputs": [{"data_item": "y", "alias": "y"}],
            },
            {
                "name": "b",
                "model_name": second,
                "type": "DL model",
                "inputs": [{"x": _src("a", "y")}],
                "outputs": [{"data_item": "y", "alias": "y"}],
            },
        ],
        "outputs": [{"out": _src("b", "y")}],
    }


def _config(root: Path, doc: dict[str, Any]) -> Path:
    save(elementwise(["x"], "y", [1, -1]), root / "vec" / "1" / "model.xml")
    save(image_model(), root / "img" / "1" / "model.xml")
    path = root / "config.json"
    path.write_text(json.dumps(doc))
    return path


def _models(**shapes: str) -> list[dict[str, Any]]:
    return [{"config": {"name": n, "base_path": "vec", "shape": s}} for n, s in shapes.items()]


def test_ranges_that_cannot_meet_are_refused_as_ovms_refuses_them(tmp_path: Path) -> None:
    doc = {
        "model_config_list": _models(early="(1,30:40)", late="(1,41:60)"),
        "pipeline_config_list": [_chain("early", "late")],
    }
    with pytest.raises(ConfigError) as info:
        convert(_config(tmp_path, doc), tmp_path / "repo")
    assert [str(p) for p in info.value.problems] == [
        f"{P}.nodes[1].inputs[0]: shape mismatch: node 'b' input 'x' takes [1,41:60], node 'a' "
        "output 'y' gives [1,30:40]; no shape fits both\n    hint: set shape or batch_size so "
        "they fit (OVMS refuses this pipeline too: INVALID_SHAPE)"
    ]
    assert not (tmp_path / "repo").exists()


@pytest.mark.parametrize("late", ["(1,40:60)", "(1,-1)", "(1,35)"])
def test_ranges_that_meet_are_converted(tmp_path: Path, late: str) -> None:
    doc = {
        "model_config_list": _models(early="(1,30:40)", late=late),
        "pipeline_config_list": [_chain("early", "late")],
    }
    assert [m.name for m in plan(_config(tmp_path, doc)).models] == ["early", "late", "pipe"]


def test_shape_is_read_in_the_request_layout(tmp_path: Path) -> None:
    doc = {
        "model_config_list": [
            {
                "config": {
                    "name": "m",
                    "base_path": "img",
                    "shape": "(1,2,4,3)",
                    "layout": "NHWC:NCHW",
                }
            }
        ]
    }
    config = from_text(plan(_config(tmp_path, doc)).models[0].config_text)
    assert [list(t.dims) for t in config.input] == [[1, 2, 4, 3]]


def test_batch_size_is_read_at_the_request_layout_n(tmp_path: Path) -> None:
    """layout CHWN:NCHW puts the request's batch last; batch_size 2 sets that dimension."""
    doc = {
        "model_config_list": [
            {"config": {"name": "m", "base_path": "img", "batch_size": 2, "layout": "HWCN:NCHW"}}
        ]
    }
    config = from_text(plan(_config(tmp_path, doc)).models[0].config_text)
    assert [list(t.dims) for t in config.input] == [[8, 8, 3, 2]]
    assert json.loads(config.parameters["RESHAPE"].string_value) == {"image": [8, 8, 3, 2]}


def _fork(first: str, second: str) -> dict[str, Any]:
    """One pipeline input feeding two models."""
    doc = _chain(first, second)
    doc["nodes"][1]["inputs"] = [{"x": _src("request", "in")}]
    doc["outputs"].append({"other": _src("a", "y")})
    return doc


def test_a_pipeline_input_takes_the_intersection_of_its_consumers_ranges(tmp_path: Path) -> None:
    doc = {
        "model_config_list": _models(low="(1,1:20)", high="(1,20:30)"),
        "pipeline_config_list": [_fork("low", "high")],
    }
    ensemble = next(m for m in plan(_config(tmp_path, doc)).models if m.name == "pipe")
    assert [list(t.dims) for t in from_text(ensemble.config_text).input] == [[1, 20]]


def test_a_pipeline_input_whose_consumers_ranges_do_not_meet_is_refused(tmp_path: Path) -> None:
    doc = {
        "model_config_list": _models(low="(1,30:40)", high="(1,41:60)"),
        "pipeline_config_list": [_fork("low", "high")],
    }
    with pytest.raises(ConfigError) as info:
        plan(_config(tmp_path, doc))
    assert [str(p) for p in info.value.problems] == [
        f"{P}.nodes[1].inputs[0]: pipeline input 'in' feeds {P}.nodes[0].inputs[0] with FP32 "
        "[1,30:40] and here FP32 [1,41:60]\n    hint: inputs that share a pipeline input must "
        "agree on type and shape (OVMS: PIPELINE_INPUTS_AMBIGUOUS_METADATA)"
    ]


def test_strings_from_model_to_model_are_refused_as_ovms_refuses_them(tmp_path: Path) -> None:
    """OVMS: a STRING model-to-model connection is NOT_IMPLEMENTED; from the request it works."""
    text = parameter("x", [-1], ov.Type.string)
    save(
        ov.Model([_named(ops.reshape(text, [-1], False), "y")], [text]),
        tmp_path / "s" / "1" / "m.xml",
    )
    doc = {
        "model_config_list": [{"config": {"name": "s", "base_path": "s"}}],
        "pipeline_config_list": [_chain("s", "s")],
    }
    with pytest.raises(ConfigError) as info:
        plan(_config(tmp_path, doc))
    assert [str(p) for p in info.value.problems] == [
        f"{P}.nodes[1].inputs[0]: node 'a' output 'y' gives strings to node 'b'; OVMS does not "
        "pass strings from model to model (NOT_IMPLEMENTED)\n    hint: feed the strings to "
        "each model from the pipeline's request instead"
    ]
