"""check_pipeline: OVMS's pipeline rules against converted models, and no echo problems."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from ovtriton.backend.tensors import TensorSpec
from ovtriton.converter.errors import Problems
from ovtriton.converter.models import ConvertedModel
from ovtriton.converter.ovms import ModelEntry, OvmsConfig
from ovtriton.converter.parse import parse_config
from ovtriton.converter.pipeline_check import check_pipeline
from tritonclient.grpc import model_config_pb2

P = "pipeline_config_list[0]"


def model(
    name: str, shape: tuple[int, ...] = (1, 4), datatype: str = "TYPE_FP32"
) -> ConvertedModel:
    entry = ModelEntry(f"model_config_list[{name}]", name, name)
    return ConvertedModel(
        entry,
        (1,),
        (),
        (TensorSpec("x", datatype, shape),),
        (TensorSpec("y", datatype, shape),),
        model_config_pb2.ModelConfig(name=name),
    )


def node(name: str, model_name: str, source: str, item: str = "out") -> dict[str, Any]:
    return {
        "name": name,
        "model_name": model_name,
        "type": "DL model",
        "inputs": [{"x": {"node_name": source, "data_item": item}}],
        "outputs": [{"data_item": "y", "alias": "out"}],
    }


def read(
    pipeline: dict[str, Any], models: list[dict[str, Any]] = ()
) -> tuple[OvmsConfig, Problems]:
    problems = Problems()
    doc = {"model_config_list": list(models), "pipeline_config_list": [pipeline]}
    return parse_config(doc, problems), problems


def chain(**extra: Any) -> dict[str, Any]:
    return {
        "name": "p",
        "inputs": ["in"],
        "nodes": [node("a", "m", "request", "in"), node("b", "m", "a")],
        "outputs": [{"result": {"node_name": "b", "data_item": "out"}}],
        **extra,
    }


def test_a_valid_pipeline_gives_its_wiring() -> None:
    config, problems = read(chain())
    wiring = check_pipeline(config.pipelines[0], {"m": model("m")}, config.declared, problems)
    assert not problems and wiring is not None
    assert wiring.inputs == (TensorSpec("in", "TYPE_FP32", (1, 4)),)
    assert wiring.outputs == (TensorSpec("result", "TYPE_FP32", (1, 4)),)
    assert wiring.output_wires == (("b", "y"),)


def test_a_missing_model_is_named_with_the_known_ones() -> None:
    config, problems = read(chain())
    assert check_pipeline(config.pipelines[0], {"n": model("n")}, config.declared, problems) is None
    assert [str(p) for p in problems.items] == [
        f"{P}.nodes[0].model_name: no model named 'm'\n    hint: define it in "
        "model_config_list; known models: ['n']",
        f"{P}.nodes[1].model_name: no model named 'm'\n    hint: define it in "
        "model_config_list; known models: ['n']",
    ]


def test_a_model_declared_with_problems_is_not_reported_missing_again() -> None:
    config, problems = read(chain(), [{"config": {"name": "m", "base_path": 7}}])
    assert [p.path for p in problems.items] == ["model_config_list[0].config.base_path"]
    check_pipeline(config.pipelines[0], {}, config.declared, problems)
    assert [p.path for p in problems.items] == ["model_config_list[0].config.base_path"]


def test_types_must_match_between_nodes() -> None:
    doc = chain()
    doc["nodes"][1]["model_name"] = "i"
    config, problems = read(doc)
    models = {"m": model("m"), "i": model("i", datatype="TYPE_INT32")}
    assert check_pipeline(config.pipelines[0], models, config.declared, problems) is None
    assert [str(p) for p in problems.items] == [
        f"{P}.nodes[1].inputs[0]: data type mismatch: node 'b' input 'x' takes INT32, node 'a' "
        "output 'y' gives FP32\n    hint: connect tensors of the same type (OVMS refuses this "
        "pipeline too: Precision mismatch)"
    ]


def test_shapes_must_fit_between_nodes() -> None:
    doc = chain()
    doc["nodes"][1]["model_name"] = "w"
    config, problems = read(doc)
    models = {"m": model("m"), "w": model("w", shape=(1, 5))}
    check_pipeline(config.pipelines[0], models, config.declared, problems)
    assert [p.message for p in problems.items] == [
        "shape mismatch: node 'b' input 'x' takes [1,5], node 'a' output 'y' gives [1,4]; "
        "no shape fits both"
    ]


def ranged(name: str, x: tuple, y: tuple) -> ConvertedModel:
    """A model whose input and output allow the given (min, max) per dimension."""
    shape = tuple(low if low == high else -1 for low, high in x)
    out = tuple(low if low == high else -1 for low, high in y)
    converted = model(name, shape)
    return dataclasses.replace(
        converted,
        outputs=(TensorSpec("y", "TYPE_FP32", out),),
        bounds={"x": x, "y": y},
    )


def test_ranges_that_do_not_overlap_are_refused_naming_both_nodes_and_ranges() -> None:
    """OVMS refuses 30:40 feeding 41:60 (INVALID_SHAPE): no request could ever pass."""
    doc = chain()
    doc["nodes"][1]["model_name"] = "late"
    config, problems = read(doc)
    models = {
        "m": ranged("m", ((1, 1), (30, 40)), ((1, 1), (30, 40))),
        "late": ranged("late", ((1, 1), (41, 60)), ((1, 1), (41, 60))),
    }
    assert check_pipeline(config.pipelines[0], models, config.declared, problems) is None
    assert [str(p) for p in problems.items] == [
        f"{P}.nodes[1].inputs[0]: shape mismatch: node 'b' input 'x' takes [1,41:60], node 'a' "
        "output 'y' gives [1,30:40]; no shape fits both\n    hint: set shape or batch_size so "
        "they fit (OVMS refuses this pipeline too: INVALID_SHAPE)"
    ]


@pytest.mark.parametrize(
    "source, target",
    [
        ((30, 40), (40, 60)),  # they meet at 40
        ((30, 40), (0, None)),  # -1 takes every size
        ((1, None), (5, 5)),  # "1:" (no upper bound) reaches 5
        ((30, 40), (35, 35)),
    ],
)
def test_ranges_that_overlap_are_accepted(source: tuple, target: tuple) -> None:
    doc = chain()
    doc["nodes"][1]["model_name"] = "late"
    config, problems = read(doc)
    models = {
        "m": ranged("m", ((1, 1), source), ((1, 1), source)),
        "late": ranged("late", ((1, 1), target), ((1, 1), target)),
    }
    assert check_pipeline(config.pipelines[0], models, config.declared, problems) is not None
    assert not problems


def test_shapes_are_not_compared_in_a_pipeline_read_with_problems() -> None:
    doc = chain(demultiply_count="two")  # read with a problem
    doc["nodes"][1]["model_name"] = "w"
    config, problems = read(doc)
    wide = {"m": model("m"), "w": model("w", shape=(1, 5))}
    assert check_pipeline(config.pipelines[0], wide, config.declared, problems) is None
    assert [p.path for p in problems.items] == [f"{P}.demultiply_count"]  # no shape mismatch


def test_a_source_node_is_not_reported_missing_when_a_node_could_not_be_read() -> None:
    doc = chain()
    doc["nodes"][0] = {"type": "DL model"}  # no name: the node cannot be read
    config, problems = read(doc)
    before = [p.path for p in problems.items]
    check_pipeline(config.pipelines[0], {"m": model("m")}, config.declared, problems)
    assert [p.path for p in problems.items] == before  # "no node 'a'" would only echo it
