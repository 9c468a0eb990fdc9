"""check_pipeline: OVMS's pipeline rules against converted models, and no echo problems."""

from __future__ import annotations

from typing import Any

from ovtriton.backend.tensors import TensorSpec
from ovtriton.converter.errors import Problems
from ovtriton.converter.models import ConvertedModel
from ovtriton.converter.ovms import ModelEntry, OvmsConfig
from ovtriton.converter.parse import parse_config
from ovtriton.converter.validate import check_pipeline
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
        f"{P}.nodes[1].inputs[0]: data type mismatch: input 'x' takes INT32, output 'y' gives "
        "FP32\n    hint: connect tensors of the same type"
    ]


def test_shapes_must_fit_between_nodes() -> None:
    doc = chain()
    doc["nodes"][1]["model_name"] = "w"
    config, problems = read(doc)
    models = {"m": model("m"), "w": model("w", shape=(1, 5))}
    check_pipeline(config.pipelines[0], models, config.declared, problems)
    assert [p.message for p in problems.items] == [
        "shape mismatch: input 'x' takes [1, 5], output 'y' gives [1, 4]"
    ]


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
