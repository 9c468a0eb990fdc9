"""Pipeline graph rules: shape merging, cycles, reachability, merged pipeline inputs."""

from __future__ import annotations

from typing import Any

from ovtriton.backend.tensors import TensorSpec
from ovtriton.converter.errors import Problems
from ovtriton.converter.pipeline_check.graph import Consumer, check_graph, merge_inputs
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


def use(path: str, spec: TensorSpec) -> Consumer:
    """A consumer whose sizes are those its shape shows (-1: any)."""
    return path, spec, tuple((0, None) if d == -1 else (d, d) for d in spec.shape)


def test_merge_inputs_takes_the_intersection_of_its_consumers() -> None:
    p = pipeline([node("a", "request")], [{"o": {"node_name": "a", "data_item": "out"}}])
    consumers = {
        "in": [
            use("x1", TensorSpec("x", "TYPE_FP32", (-1, 4))),
            use("x2", TensorSpec("x", "TYPE_FP32", (2, -1))),
        ]
    }
    problems = Problems()
    assert merge_inputs(p, consumers, set(), problems) == (TensorSpec("in", "TYPE_FP32", (2, 4)),)
    assert not problems


def test_merge_inputs_reports_consumers_that_disagree() -> None:
    p = pipeline([node("a", "request")], [{"o": {"node_name": "a", "data_item": "out"}}])
    consumers = {
        "in": [
            use("x1", TensorSpec("x", "TYPE_FP32", (1, 4))),
            use("x2", TensorSpec("x", "TYPE_INT32", (1, 4))),
        ]
    }
    problems = Problems()
    merge_inputs(p, consumers, set(), problems)
    assert [str(x) for x in problems.items] == [
        "x2: pipeline input 'in' feeds x1 with FP32 [1,4] and here INT32 [1,4]\n    hint: "
        "inputs that share a pipeline input must agree on type and shape (OVMS: "
        "PIPELINE_INPUTS_AMBIGUOUS_METADATA)"
    ]


def test_merge_inputs_intersects_ranges_as_ovms_does() -> None:
    """1:20 and 15:30 give 15:20 (declared -1); 1:20 and 20:30 leave only 20."""
    p = pipeline([node("a", "request")], [{"o": {"node_name": "a", "data_item": "out"}}])
    spec = TensorSpec("x", "TYPE_FP32", (1, -1))
    for other, dims in (((15, 30), (1, -1)), ((20, 30), (1, 20))):
        consumers = {"in": [("x1", spec, ((1, 1), (1, 20))), ("x2", spec, ((1, 1), other))]}
        problems = Problems()
        assert merge_inputs(p, consumers, set(), problems) == (TensorSpec("in", "TYPE_FP32", dims),)
        assert not problems


def test_merge_inputs_refuses_ranges_that_do_not_meet() -> None:
    p = pipeline([node("a", "request")], [{"o": {"node_name": "a", "data_item": "out"}}])
    spec = TensorSpec("x", "TYPE_FP32", (1, -1))
    consumers = {"in": [("x1", spec, ((1, 1), (30, 40))), ("x2", spec, ((1, 1), (41, 60)))]}
    problems = Problems()
    merge_inputs(p, consumers, set(), problems)
    assert [x.message for x in problems.items] == [
        "pipeline input 'in' feeds x1 with FP32 [1,30:40] and here FP32 [1,41:60]"
    ]


def test_merge_inputs_gives_a_passthrough_only_input_a_default_with_a_warning() -> None:
    p = pipeline([node("a", "request")], [{"o": {"node_name": "request", "data_item": "in"}}])
    problems = Problems()
    assert merge_inputs(p, {}, {"in"}, problems) == (TensorSpec("in", "TYPE_FP32", (-1,)),)
    assert [w.path for w in problems.warnings] == ["pipeline_config_list[0].inputs"]
