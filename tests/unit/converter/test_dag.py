"""``ovtriton convert`` of DAG pipelines (custom nodes, demultiplexing): what OVMS refuses at
load is reported with its JSON path; plain pipelines stay ensembles."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ovtriton.converter import plan
from ovtriton.converter.errors import ConfigError
from tests.custom_nodes.dag_cases import pipelines, write_dag_config

P = "pipeline_config_list"
INDEX = {p["name"]: i for i, p in enumerate(pipelines())}


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = write_dag_config(tmp_path_factory.mktemp("dag") / "ovms")
    document = json.loads(path.read_text())
    document["root"] = str(path.parent)
    return document


def problems(config: dict[str, Any], tmp_path: Path, edit: Callable[[dict], Any]) -> list[str]:
    document = json.loads(json.dumps(config))
    root = Path(document.pop("root"))
    for library in document["custom_node_library_config_list"]:
        library["base_path"] = str(root / library["base_path"])
    for model in document["model_config_list"]:
        model["config"]["base_path"] = str(root / model["config"]["base_path"])
    edit(document)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigError) as caught:
        plan(path)
    return [str(problem) for problem in caught.value.problems]


def node(document: dict, pipeline: str, index: int) -> dict:
    return document[P][INDEX[pipeline]]["nodes"][index]


def test_the_dag_pipelines_plan_as_pipeline_models_and_models_stay_models(
    config: dict[str, Any], tmp_path: Path
) -> None:
    document = dict(config)
    root = Path(document.pop("root"))
    planned = plan(root / "config.json")
    kinds = {model.name: model.kind for model in planned.models}
    assert kinds == {
        **{name: "pipeline" for name in INDEX},
        **{name: "model" for name in ("fixed", "double", "tile_score", "squeeze")},
    }
    # the libraries are read paths: never written into, watched by `serve --watch`
    libraries = {root / lib["base_path"] for lib in config["custom_node_library_config_list"]}
    assert libraries <= set(planned.read_paths())


CASES: dict[str, tuple[Callable[[dict], Any], str, str]] = {
    "static count against the model's dim 0": (
        lambda d: d[P].append(
            {
                "name": "fx",
                "inputs": ["x"],
                "nodes": [
                    {
                        "name": "f",
                        "type": "DL model",
                        "model_name": "fixed",
                        "demultiply_count": 3,
                        "inputs": [{"x": {"node_name": "request", "data_item": "x"}}],
                        "outputs": [{"data_item": "y", "alias": "y"}],
                    }
                ],
                "outputs": [{"y": {"node_name": "f", "data_item": "y"}}],
            }
        ),
        f"{P}[{len(INDEX)}].nodes[0].demultiply_count",
        "has dim 0 = 2, demultiply_count is 3",
    ),
    "demultiplexer outputs of rank 1": (
        lambda d: node(d, "crop_static", 3).update(demultiply_count=1),
        f"{P}[{INDEX['crop_static']}].nodes[3].demultiply_count",
        "has 1 dimension(s), a demultiplexer's outputs need 3 or more",
    ),
    "a dynamic demultiplexer must be alone": (
        lambda d: node(d, "nested", 0).update(demultiply_count=-1),
        f"{P}[{INDEX['nested']}].nodes[0].demultiply_count",
        "a dynamic demultiplexer (-1) must be the only one",
    ),
    "shapes of a connection": (
        lambda d: (
            node(d, "chain", 1).update(model_name="tile_score")
            or node(d, "chain", 1)["inputs"][0].update(
                tile=node(d, "chain", 1)["inputs"][0].pop("x")
            )
            or node(d, "chain", 1)["outputs"][0].update(data_item="score")
        ),
        f"{P}[{INDEX['chain']}].nodes[1].inputs[0]",
        "shape mismatch: node 'dbl' input 'tile' takes [1,-1,-1], node 'first' output 'out' "
        "gives [-1,3]; no shape fits both",
    ),
    "precisions of a connection": (
        lambda d: (
            node(d, "scores", 1)["inputs"][0]["tile"].update(data_item="offsets")
            or node(d, "scores", 0)["outputs"].append({"data_item": "offsets", "alias": "offsets"})
        ),
        f"{P}[{INDEX['scores']}].nodes[1].inputs[0]",
        "data type mismatch: node 'score' input 'tile' takes FP32, node 'split' output "
        "'offsets' gives INT32",
    ),
    "gather from a node that does not demultiplex": (
        lambda d: node(d, "chain", 2).update(gather_from_node="dbl"),
        f"{P}[{INDEX['chain']}].nodes[2].gather_from_node",
        "Gather node refers to node that isn't demultiplexer",
    ),
    "gather order (LIFO)": (
        lambda d: node(d, "nested", 4).update(gather_from_node="outer"),
        f"{P}[{INDEX['nested']}]",
        "is not the innermost demultiplexer",
    ),
    "consumers of a pipeline input disagree": (
        lambda d: d[P].append(
            {
                "name": "two",
                "inputs": ["x"],
                "demultiply_count": -1,  # a DAG pipeline (plain ones are checked elsewhere)
                "nodes": [
                    {
                        "name": name,
                        "type": "DL model",
                        "model_name": model,
                        "inputs": [{port: {"node_name": "request", "data_item": "x"}}],
                        "outputs": [{"data_item": item, "alias": "y"}],
                    }
                    for name, model, port, item in (
                        ("a", "double", "x", "y"),
                        ("b", "tile_score", "tile", "score"),
                    )
                ],
                "outputs": [
                    {"a": {"node_name": "a", "data_item": "y"}},
                    {"b": {"node_name": "b", "data_item": "y"}},
                ],
            }
        ),
        f"{P}[{len(INDEX)}].nodes[1].inputs[0]",
        "PIPELINE_INPUTS_AMBIGUOUS_METADATA",
    ),
    "a node that does not lead to the response": (
        lambda d: d[P][INDEX["scores"]]["nodes"].append({**node(d, "scores", 1), "name": "idle"}),
        f"{P}[{INDEX['scores']}].nodes[2]",
        "node 'idle' does not lead to the response",
    ),
    "undeclared library": (
        lambda d: node(d, "chain", 0).update(library_name="nope"),
        f"{P}[{INDEX['chain']}].nodes[0].library_name",
        "no library named 'nope'",
    ),
    "library file missing": (
        lambda d: d["custom_node_library_config_list"][0].update(base_path="/no/such.so"),
        "custom_node_library_config_list[0].base_path",
        "/no/such.so is not a file",
    ),
    "library info failing": (
        lambda d: node(d, "failing", 0).update(params={"fail_info": "1"}),
        f"{P}[{INDEX['failing']}].nodes[0].library_name",
        "getInputsInfo returned 5",
    ),
    "unknown library input": (
        lambda d: node(d, "chain", 0)["inputs"].append(
            {"extra": node(d, "chain", 0)["inputs"][0]["in"]}
        ),
        f"{P}[{INDEX['chain']}].nodes[0].inputs[1]",
        "node 'first' has no input 'extra'",
    ),
    "params are strings": (
        lambda d: node(d, "chain", 0)["params"].update(constant=1),
        f"{P}[{INDEX['chain']}].nodes[0].params.constant",
        "expected a string",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_what_ovms_refuses_is_reported_at_its_path(
    config: dict[str, Any], tmp_path: Path, case: str
) -> None:
    edit, path, text = CASES[case]
    found = problems(config, tmp_path, edit)
    both = 2 if case == "shapes of a connection" else 1  # the node's input and its output
    assert len(found) == both and found[0].startswith(f"{path}: "), found
    assert text in found[0], found
