"""The rules every pipeline gets from the one checker, on pipelines that can only be pipeline
models (demultiplexing): range overlap between nodes, gathering from the entry, strings never
demultiplexed; each with OVMS's status, the exact message and the JSON path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
import pytest
from openvino import opset13 as ops
from ovtriton.converter import ConfigError, plan
from ovtriton.converter.pbtxt import from_text

from tests.unit.converter.seed_models import _named, elementwise, parameter, save

P = "pipeline_config_list[0]"


def _src(node: str, item: str) -> dict[str, str]:
    return {"node_name": node, "data_item": item}


def _node(name: str, model: str, source: tuple[str, str], **extra: Any) -> dict[str, Any]:
    port = "text" if model == "strings" else "x"
    return {
        "name": name,
        "model_name": model,
        "type": "DL model",
        "inputs": [{port: _src(*source)}],
        "outputs": [{"data_item": "y", "alias": "y"}],
        **extra,
    }


def _plan(root: Path, pipeline: dict[str, Any], **shapes: str) -> Any:
    save(elementwise(["x"], "y", [1, -1]), root / "vec" / "1" / "model.xml")
    text = parameter("text", [-1], ov.Type.string)
    rows = _named(ops.reshape(text, np.array([-1, 1], np.int64), False), "y")
    save(ov.Model([rows], [text], "strings"), root / "str" / "1" / "model.xml")
    models = [{"config": {"name": n, "base_path": "vec", "shape": s}} for n, s in shapes.items()]
    models.append({"config": {"name": "strings", "base_path": "str"}})
    path = root / "config.json"
    path.write_text(json.dumps({"model_config_list": models, "pipeline_config_list": [pipeline]}))
    return plan(path)


def _problems(root: Path, pipeline: dict[str, Any], **shapes: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        _plan(root, pipeline, **shapes)
    return [str(problem) for problem in info.value.problems]


def _chain(**extra: Any) -> dict[str, Any]:
    """request -> a -> b -> response, the entry demultiplexing (a pipeline model)."""
    return {
        "name": "pipe",
        "inputs": ["in"],
        "demultiply_count": -1,
        "nodes": [_node("a", "early", ("request", "in")), _node("b", "late", ("a", "y"))],
        "outputs": [{"out": _src("b", "y")}],
        **extra,
    }


def test_ranges_that_cannot_meet_inside_a_dag_pipeline_are_refused(tmp_path: Path) -> None:
    found = _problems(tmp_path, _chain(), early="(1,30:40)", late="(1,41:60)")
    assert found == [
        f"{P}.nodes[1].inputs[0]: shape mismatch: node 'b' input 'x' takes [1,41:60], node 'a' "
        "output 'y' gives [1,30:40]; no shape fits both\n    hint: set shape or batch_size so "
        "they fit (OVMS refuses this pipeline too: INVALID_SHAPE)"
    ]


def test_ranges_that_meet_inside_a_dag_pipeline_are_converted(tmp_path: Path) -> None:
    planned = _plan(tmp_path, _chain(), early="(1,30:40)", late="(1,40:60)")
    model = next(m for m in planned.models if m.name == "pipe")
    assert model.kind == "pipeline"
    config = from_text(model.config_text)
    assert [list(t.dims) for t in config.input] == [[-1, 1, -1]]  # the shards, count in front
    assert [list(t.dims) for t in config.output] == [[-1, 1, -1]]  # gathered by the response


def test_gathering_from_the_entry_is_served_as_a_pipeline_model(tmp_path: Path) -> None:
    pipeline = _chain()
    pipeline["nodes"][1]["gather_from_node"] = "request"  # b takes the stacked shards
    planned = _plan(tmp_path, pipeline, early="(1,-1)", late="(3,1,-1)")
    model = next(m for m in planned.models if m.name == "pipe")
    described = json.loads(model.files[0].data)
    assert described["demultiply_count"] == -1
    assert described["nodes"][1]["gather_from_node"] == "request"
    config = from_text(model.config_text)
    assert [list(t.dims) for t in config.input] == [[-1, 1, -1]]
    assert [list(t.dims) for t in config.output] == [[3, 1, -1]]  # b's own output, once


def test_gathering_from_the_entry_needs_the_pipeline_to_demultiplex(tmp_path: Path) -> None:
    pipeline = _chain()
    del pipeline["demultiply_count"]
    pipeline["nodes"][1]["gather_from_node"] = "request"
    found = _problems(tmp_path, pipeline, early="(1,-1)", late="(1,-1)")
    assert found == [
        f"{P}.nodes[1].gather_from_node: 'request' is not a demultiplexing node of this "
        "pipeline (OVMS: Gather node refers to node that isn't demultiplexer)\n    hint: name "
        "the node (with demultiply_count) whose sub-requests this node joins; the "
        "demultiplexers are []"
    ]


def test_the_entry_demultiplexing_strings_is_refused(tmp_path: Path) -> None:
    pipeline = {
        "name": "pipe",
        "inputs": ["words"],
        "demultiply_count": 0,  # OVMS's PipelineWithStringDemultiplexerRequestUnsupported
        "nodes": [_node("s", "strings", ("request", "words"))],
        "outputs": [{"out": _src("s", "y")}],
    }
    assert _problems(tmp_path, pipeline) == [
        f"{P}.nodes[0].inputs[0]: input 'text' of node 's' takes strings, which a "
        "demultiplexing pipeline cannot split (OVMS: Demultiplication is not supported for "
        "string precision, PIPELINE_STRING_DEMUILTIPLICATION_UNSUPPORTED)\n    hint: "
        "demultiplex before or after the nodes that take strings, or not at all"
    ]


def test_a_demultiplexer_taking_strings_is_refused(tmp_path: Path) -> None:
    pipeline = {
        "name": "pipe",
        "inputs": ["words"],
        # OVMS's PipelineWithStringDemultiplexerNodeUnsupported
        "nodes": [_node("s", "strings", ("request", "words"), demultiply_count=0)],
        "outputs": [{"out": _src("s", "y")}],
    }
    found = _problems(tmp_path, pipeline)
    assert found[0].startswith(
        f"{P}.nodes[0].inputs[0]: input 'text' of node 's' takes strings, which a "
        "demultiplexing pipeline cannot split (OVMS: Demultiplication is not supported"
    )
    # its output [-1, 1] has rank 2 as well: OVMS's next load-time rule, reported too
    assert found[1].startswith(f"{P}.nodes[0].demultiply_count: output 'y' of node 's' has 2 ")
    assert len(found) == 2


def test_a_gathering_input_whose_dim_0_cannot_hold_the_shards_is_refused(tmp_path: Path) -> None:
    pipeline = {
        "name": "pipe",
        "inputs": ["in"],
        "nodes": [
            _node("a", "split", ("request", "in"), demultiply_count=2),
            _node("b", "joined", ("a", "y"), gather_from_node="a"),
        ],
        "outputs": [{"out": _src("b", "y")}],
    }
    found = _problems(tmp_path, pipeline, split="(2,1,-1)", joined="(3,1,-1)")
    assert found == [
        f"{P}.nodes[1].inputs[0]: input 'x' of node 'b' takes [3,1,-1], whose dim 0 cannot "
        "hold the 2 shards of 'a' gathered there (OVMS: "
        "PIPELINE_DEMULTIPLY_COUNT_DOES_NOT_MATCH_TENSOR_SHARD_COUNT)\n    hint: make dim 0 of "
        "the input the demultiply_count, or -1"
    ]
    assert _plan(tmp_path, pipeline, split="(2,1,-1)", joined="(2,1,-1)") is not None
