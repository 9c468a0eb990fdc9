"""Pipeline graph rules: shape merging, cycles, reachability, merged pipeline inputs."""

from __future__ import annotations

from typing import Any

from ovtriton.backend.tensors import TensorSpec
from ovtriton.converter.errors import Problems
from ovtriton.converter.graph import check_graph, merge_inputs, merge_shapes
from ovtriton.converter.ovms import Pipeline
from ovtriton.converter.parse import parse_config


def pipeline(nodes: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> Pipeline:
    doc = {
        "model_config_list": [],
        "pipeline_config_list": [
            {"name": "p", "inputs": ["in"], "nodes": nodes, "outputs": outputs}
        ],
    }
    return parse_config(doc, Problems()).pipelines[0]


def node(name: str, source: str) -> dict[str, Any]:
    return {
        "name": name,
        "model_name": "m",
        "type": "DL model",
        "inputs": [{"x": {"node_name": source, "data_item": "out"}}],
        "outputs": [{"data_item": "y", "alias": "out"}],
    }


def test_merge_shapes_intersects_dims_with_minus_one_matching_anything() -> None:
    assert merge_shapes((-1, 3), (2, -1)) == (2, 3)
    assert merge_shapes((2, 3), (4, 3)) is None
    assert merge_shapes((2,), (2, 1)) is None


def test_check_graph_reports_a_cycle_once_with_its_path() -> None:
    p = pipeline([node("a", "b"), node("b", "a")], [{"o": {"node_name": "a", "data_item": "out"}}])
    problems = Problems()
    nodes = {n.name: n for n in p.nodes}
    check_graph(p, nodes, {"a": {"b"}, "b": {"a"}}, problems, reachability=True)
    assert [str(x) for x in problems.items] == [
        "pipeline_config_list[0].nodes[1]: nodes form a cycle: a -> b -> a\n    hint: a "
        "pipeline must be acyclic; remove one of these connections"
    ]


def test_check_graph_reports_nodes_that_do_not_reach_the_response() -> None:
    p = pipeline(
        [node("a", "request"), node("b", "request")],
        [{"o": {"node_name": "a", "data_item": "out"}}],
    )
    problems = Problems()
    check_graph(p, {n.name: n for n in p.nodes}, {"a": set(), "b": set()}, problems, True)
    assert [x.message for x in problems.items] == ["node 'b' does not lead to the response"]
    problems = Problems()
    check_graph(p, {n.name: n for n in p.nodes}, {"a": set(), "b": set()}, problems, False)
    assert not problems  # a broken connection was reported: reachability would only echo it


def test_merge_inputs_takes_the_intersection_of_its_consumers() -> None:
    p = pipeline([node("a", "request")], [{"o": {"node_name": "a", "data_item": "out"}}])
    consumers = {
        "in": [
            ("x1", TensorSpec("x", "TYPE_FP32", (-1, 4))),
            ("x2", TensorSpec("x", "TYPE_FP32", (2, -1))),
        ]
    }
    problems = Problems()
    assert merge_inputs(p, consumers, set(), problems) == (TensorSpec("in", "TYPE_FP32", (2, 4)),)
    assert not problems


def test_merge_inputs_reports_consumers_that_disagree() -> None:
    p = pipeline([node("a", "request")], [{"o": {"node_name": "a", "data_item": "out"}}])
    consumers = {
        "in": [
            ("x1", TensorSpec("x", "TYPE_FP32", (1, 4))),
            ("x2", TensorSpec("x", "TYPE_INT32", (1, 4))),
        ]
    }
    problems = Problems()
    merge_inputs(p, consumers, set(), problems)
    assert [str(x) for x in problems.items] == [
        "x2: pipeline input 'in' feeds x1 with FP32 [1, 4] and here INT32 [1, 4]\n    hint: "
        "inputs that share a pipeline input must agree on type and shape"
    ]


def test_merge_inputs_gives_a_passthrough_only_input_a_default_with_a_warning() -> None:
    p = pipeline([node("a", "request")], [{"o": {"node_name": "request", "data_item": "in"}}])
    problems = Problems()
    assert merge_inputs(p, {}, {"in"}, problems) == (TensorSpec("in", "TYPE_FP32", (-1,)),)
    assert [w.path for w in problems.warnings] == ["pipeline_config_list[0].inputs"]
