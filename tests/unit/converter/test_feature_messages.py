"""Unsupported features are named in every spelling, and never hide the config's real errors.

Exact messages: a user reads them to fix the config.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ovtriton.converter import ConfigError, plan

from tests.unit.converter.seed_models import elementwise, save

ADD = {"config": {"name": "add", "base_path": "add"}}
LIBRARIES = (
    "custom node libraries (.so) cannot run in Triton; a Triton BLS model (Python) can do "
    "this; convert that part by hand"
)
MEDIAPIPE = "MediaPipe graphs are not supported; serve their models one by one"
LOADERS = (
    "custom model loaders are not supported; decrypt or fetch the model files before converting"
)


def _problems(root: Path, doc: dict[str, Any]) -> list[str]:
    save(elementwise(["x"], "y", [1, 4]), root / "add" / "1" / "model.xml")
    config = root / "config.json"
    config.write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as info:
        plan(config)
    return [str(p) for p in info.value.problems]


def _node(name: str, source: str = "request", **fields: Any) -> dict[str, Any]:
    item = "in" if source == "request" else "y"
    return {
        "name": name,
        "type": "DL model",
        "model_name": "add",
        "inputs": [{"x": {"node_name": source, "data_item": item}}],
        "outputs": [{"data_item": "y", "alias": "y"}],
        **fields,
    }


def _pipeline(*nodes: dict[str, Any], **fields: Any) -> dict[str, Any]:
    last = nodes[-1]["name"]
    return {
        "name": "p",
        "inputs": ["in"],
        "nodes": list(nodes),
        "outputs": [{"out": {"node_name": last, "data_item": "y"}}],
        **fields,
    }


def _mediapipe(field: str) -> str:
    return (
        f"model_config_list[1].config.{field}: '{field}' makes this entry a MediaPipe graph, "
        f"which ovtriton does not support yet\n    hint: {MEDIAPIPE}"
    )


@pytest.mark.parametrize("field", ["graph_path", "subconfig"])
def test_a_mediapipe_graph_without_base_path_is_named_mediapipe(tmp_path: Path, field: str) -> None:
    """OVMS's graphs default their base path: no "missing required key 'base_path'"."""
    doc = {"model_config_list": [ADD, {"config": {"name": "g", field: "graph.pbtxt"}}]}
    assert _problems(tmp_path, doc) == [_mediapipe(field)]


def test_a_mediapipe_graph_in_model_config_list_also_reports_its_bad_fields(
    tmp_path: Path,
) -> None:
    doc = {"model_config_list": [ADD, {"config": {"name": "g", "graph_path": 7, "nireq": -1}}]}
    assert _problems(tmp_path, doc) == [
        _mediapipe("graph_path"),
        "model_config_list[1].config.graph_path: expected a string, got an integer",
        "model_config_list[1].config.nireq: -1 is out of range\n    hint: use an integer "
        "between 0 and 100000",
    ]


def test_mediapipe_config_list_is_named_and_its_entries_checked(tmp_path: Path) -> None:
    doc = {"model_config_list": [ADD], "mediapipe_config_list": [{"nme": "g", "base_path": 3}]}
    assert _problems(tmp_path, doc) == [
        f"mediapipe_config_list: 'mediapipe_config_list' is not supported by ovtriton yet\n"
        f"    hint: {MEDIAPIPE}",
        "mediapipe_config_list[0].nme: unknown key 'nme'\n    hint: did you mean 'name'?",
        "mediapipe_config_list[0]: missing required key 'name'",
        "mediapipe_config_list[0].base_path: expected a string, got an integer",
    ]


@pytest.mark.parametrize("where", ["", "1"])
def test_a_base_path_holding_graph_pbtxt_is_named_mediapipe(tmp_path: Path, where: str) -> None:
    (tmp_path / "graph" / where).mkdir(parents=True)
    (tmp_path / "graph" / where / "graph.pbtxt").write_text("")
    doc = {"model_config_list": [ADD, {"config": {"name": "g", "base_path": "graph"}}]}
    assert _problems(tmp_path, doc) == [
        f"model_config_list[1].config.base_path: {tmp_path / 'graph'} holds graph.pbtxt, a "
        "MediaPipe graph; not supported by ovtriton yet\n    hint: serve the graph's models "
        "one by one"
    ]


def test_custom_loaders_are_named_and_checked_in_both_spellings(tmp_path: Path) -> None:
    doc = {
        "model_config_list": [
            ADD,
            {"config": {"name": "c", "base_path": "add", "custom_loader_options": {"x": "1"}}},
        ],
        "custom_loader_config_list": [{"config": {"loader_name": 3}}],
    }
    assert _problems(tmp_path, doc) == [
        "custom_loader_config_list: 'custom_loader_config_list' is not supported by ovtriton "
        f"yet\n    hint: {LOADERS}",
        "custom_loader_config_list[0].config: missing required key 'library_path'",
        "custom_loader_config_list[0].config.loader_name: expected a string, got an integer",
        "model_config_list[1].config.custom_loader_options: 'custom_loader_options' is not "
        f"supported by ovtriton yet\n    hint: {LOADERS}",
        "model_config_list[1].config.custom_loader_options: missing required key 'loader_name'",
    ]


def test_custom_nodes_report_their_real_errors_too(tmp_path: Path) -> None:
    custom = {
        "name": "c",
        "type": "custom",
        "params": {"n": 2},
        "inputs": [{"x": {"node_name": "request", "data_item": "in"}}],
        "outputs": [{"data_item": "y", "alias": "y"}],
    }
    doc = {
        "model_config_list": [ADD],
        "custom_node_library_config_list": [{"name": "lib"}],
        "pipeline_config_list": [_pipeline(custom, _node("m", "c", library_name="lib"))],
    }
    nodes = "pipeline_config_list[0].nodes"
    # custom nodes are served (pipeline models): every real error, and nothing "unsupported"
    assert _problems(tmp_path, doc) == [
        f"{nodes}[0]: missing required key 'library_name'\n    hint: the name of a "
        "custom_node_library_config_list entry",
        f"{nodes}[0].params.n: expected a string, got an integer",
        f"{nodes}[1].library_name: library_name is for nodes of type 'custom'",
        "custom_node_library_config_list[0]: missing required key 'base_path'",
    ]


def test_demultiplexing_and_gathering_report_their_real_errors_too(tmp_path: Path) -> None:
    doc = {
        "model_config_list": [ADD],
        "pipeline_config_list": [
            _pipeline(
                _node("a", demultiply_count=10001),
                _node("b", "a", gather_from_node="a"),
                _node("c", "b", gather_from_node="b", model_name="nope"),
                demultiply_count="4",
            )
        ],
    }
    at = "pipeline_config_list[0]"
    # served (pipeline models): every real error; gathering from 'a', whose count is out of
    # range, is not reported again (an echo), gathering from 'b' (no count at all) is
    assert _problems(tmp_path, doc) == [
        f"{at}.nodes[0].demultiply_count: 10001 is out of range\n    hint: use an integer "
        "between -1 and 10000",
        f"{at}.demultiply_count: expected an integer, got a string",
        f"{at}.nodes[2].model_name: no model named 'nope'\n    hint: define it in "
        "model_config_list; known models: ['add']",
        f"{at}.nodes[2].gather_from_node: 'b' is not a demultiplexing node of this pipeline "
        "(OVMS: Gather node refers to node that isn't demultiplexer)\n    hint: name the node "
        "(with demultiply_count) whose sub-requests this node joins; the demultiplexers are []",
    ]
