"""The invalid configs of ``test_invalid.py``: mutations of ``BASE`` and the JSON paths they must report."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from tests.unit.converter.seed_models import elementwise, save


def _src(node: str, item: str) -> dict[str, str]:
    return {"node_name": node, "data_item": item}


BASE: dict[str, Any] = {
    "model_config_list": [
        {"config": {"name": "add", "base_path": "add"}},
        {"config": {"name": "sum", "base_path": "sum"}},
        {"config": {"name": "ints", "base_path": "ints"}},
    ],
    "pipeline_config_list": [
        {
            "name": "pipe",
            "inputs": ["in"],
            "nodes": [
                {
                    "name": "a",
                    "model_name": "add",
                    "type": "DL model",
                    "inputs": [{"x": _src("request", "in")}],
                    "outputs": [{"data_item": "y", "alias": "out"}],
                },
                {
                    "name": "b",
                    "model_name": "sum",
                    "type": "DL model",
                    "inputs": [{"a": _src("a", "out")}, {"b": _src("request", "in")}],
                    "outputs": [{"data_item": "y", "alias": "out"}],
                },
            ],
            "outputs": [{"result": _src("b", "out")}],
        }
    ],
}


def _models(root: Path) -> None:
    save(elementwise(["x"], "y", [1, 4]), root / "add" / "1" / "model.xml")
    save(elementwise(["a", "b"], "y", [1, 4]), root / "sum" / "1" / "model.xml")
    import openvino as ov

    save(elementwise(["x"], "y", [1, 4], element=ov.Type.i32), root / "ints" / "1" / "model.xml")
    save(elementwise(["x"], "y", [1, 5]), root / "wide" / "1" / "model.xml")


def _node(doc: dict, index: int) -> dict:
    return doc["pipeline_config_list"][0]["nodes"][index]


def _set(fn: Callable[[dict], None]) -> Callable[[dict], dict]:
    def apply(doc: dict) -> dict:
        fn(doc)
        return doc

    return apply


P = "pipeline_config_list[0]"
M = "model_config_list"
CASES: dict[str, tuple[Callable[[dict], Any], list[str]]] = {
    "unknown top-level key": (_set(lambda d: d.update(models=[])), ["models"]),
    "unknown model key": (
        _set(lambda d: d[M][0]["config"].update(base_pth="x")),
        [f"{M}[0].config.base_pth"],
    ),
    "schema-rejected precision": (
        _set(lambda d: d[M][0]["config"].update(precision="fp16:fp32")),
        [f"{M}[0].config.precision"],
    ),
    "missing name": (
        _set(lambda d: d[M][0]["config"].pop("name")),
        [f"{M}[0].config", f"{P}.nodes[0].model_name"],
    ),
    "wrong type nireq": (
        _set(lambda d: d[M][0]["config"].update(nireq="4")),
        [f"{M}[0].config.nireq"],
    ),
    "bad shape syntax": (
        _set(lambda d: d[M][0]["config"].update(shape="1,3,224")),
        [f"{M}[0].config.shape"],
    ),
    "shape of unknown input": (
        _set(lambda d: d[M][0]["config"].update(shape={"z": "(1,4)"})),
        [f"{M}[0].config.shape.z"],
    ),
    "bad batch size": (
        _set(lambda d: d[M][0]["config"].update(batch_size="big")),
        [f"{M}[0].config.batch_size"],
    ),
    "bad layout": (
        _set(lambda d: d[M][0]["config"].update(layout="NXHW")),
        [f"{M}[0].config.layout"],
    ),
    "two policies": (
        _set(
            lambda d: d[M][0]["config"].update(
                model_version_policy={"all": {}, "latest": {"num_versions": 1}}
            )
        ),
        [f"{M}[0].config.model_version_policy"],
    ),
    "missing specific version": (
        _set(
            lambda d: d[M][0]["config"].update(model_version_policy={"specific": {"versions": [7]}})
        ),
        [f"{M}[0].config.model_version_policy"],
    ),
    "dot dot base path": (
        _set(lambda d: d[M][0]["config"].update(base_path="../add")),
        [f"{M}[0].config.base_path"],
    ),
    "missing base path": (
        _set(lambda d: d[M][0]["config"].update(base_path="nowhere")),
        [f"{M}[0].config.base_path"],
    ),
    "remote base path": (
        _set(lambda d: d[M][0]["config"].update(base_path="s3://bucket/add")),
        [f"{M}[0].config.base_path"],
    ),
    "gcs base path": (
        _set(lambda d: d[M][0]["config"].update(base_path="gs://bucket/add")),
        [f"{M}[0].config.base_path"],
    ),
    "unsafe name": (
        _set(lambda d: d[M][2]["config"].update(name="my model")),
        [f"{M}[2].config.name"],
    ),
    "duplicate model name": (
        _set(lambda d: d[M][2]["config"].update(name="add")),
        [f"{M}[2].config.name"],
    ),
    "pipeline named like a model": (
        _set(lambda d: d["pipeline_config_list"][0].update(name="sum")),
        [f"{P}.name"],
    ),
    "stateful": (
        _set(lambda d: d[M][0]["config"].update(stateful=True)),
        [f"{M}[0].config.stateful"],
    ),
    "low latency": (
        _set(lambda d: d[M][0]["config"].update(low_latency_transformation=True)),
        [f"{M}[0].config.low_latency_transformation"],
    ),
    "custom loader options": (
        _set(lambda d: d[M][0]["config"].update(custom_loader_options={"loader_name": "x"})),
        [f"{M}[0].config.custom_loader_options"],
    ),
    "custom loaders": (
        _set(
            lambda d: d.update(
                custom_loader_config_list=[
                    {"config": {"loader_name": "l", "library_path": "/l.so"}}
                ]
            )
        ),
        ["custom_loader_config_list"],
    ),
    "custom node libraries": (
        _set(
            lambda d: d.update(
                custom_node_library_config_list=[{"name": "l", "base_path": "/l.so"}]
            )
        ),
        ["custom_node_library_config_list"],
    ),
    "mediapipe": (
        _set(lambda d: d.update(mediapipe_config_list=[{"name": "g"}])),
        ["mediapipe_config_list"],
    ),
    "graph path": (
        _set(lambda d: d[M][0]["config"].update(graph_path="g.pbtxt")),
        [f"{M}[0].config.graph_path"],
    ),
    "pipeline demultiply": (
        _set(lambda d: d["pipeline_config_list"][0].update(demultiply_count=2)),
        [f"{P}.demultiply_count"],
    ),
    "node demultiply": (
        _set(lambda d: _node(d, 0).update(demultiply_count=0)),
        [f"{P}.nodes[0].demultiply_count"],
    ),
    "gather": (
        _set(lambda d: _node(d, 1).update(gather_from_node="a")),  # and a does not demultiply
        [f"{P}.nodes[1].gather_from_node", f"{P}.nodes[1].gather_from_node"],
    ),
    "custom node": (
        _set(lambda d: _node(d, 0).update(type="custom", library_name="lib")),
        # and it keeps model_name, and "lib" is not declared: OVMS refuses both too
        [f"{P}.nodes[0].type", f"{P}.nodes[0].model_name", f"{P}.nodes[0].library_name"],
    ),
    "missing model": (
        _set(lambda d: _node(d, 0).update(model_name="nope")),
        [f"{P}.nodes[0].model_name"],
    ),
    "missing version": (_set(lambda d: _node(d, 0).update(version=3)), [f"{P}.nodes[0].version"]),
    "missing source node": (
        _set(lambda d: _node(d, 1)["inputs"][0]["a"].update(node_name="zz")),
        [f"{P}.nodes[1].inputs[0].a.node_name"],
    ),
    "missing alias": (
        _set(lambda d: _node(d, 1)["inputs"][0]["a"].update(data_item="zz")),
        [f"{P}.nodes[1].inputs[0].a.data_item"],
    ),
    "missing pipeline input": (
        _set(lambda d: _node(d, 1)["inputs"][1]["b"].update(data_item="zz")),
        [f"{P}.nodes[1].inputs[1].b.data_item"],
    ),
    "missing model output": (
        _set(lambda d: _node(d, 0)["outputs"][0].update(data_item="zz")),
        [f"{P}.nodes[0].outputs[0].data_item"],
    ),
    "missing model input": (
        _set(lambda d: _node(d, 1)["inputs"].append({"c": _src("request", "in")})),
        [f"{P}.nodes[1].inputs[2]"],
    ),
    "input connected twice": (
        _set(lambda d: _node(d, 1)["inputs"].append({"b": _src("a", "out")})),
        [f"{P}.nodes[1].inputs[2]"],
    ),
    "input not connected": (_set(lambda d: _node(d, 1)["inputs"].pop()), [f"{P}.nodes[1].inputs"]),
    "cycle": (
        _set(
            lambda d: _node(d, 0).update(
                model_name="sum", inputs=[{"a": _src("request", "in")}, {"b": _src("b", "out")}]
            )
        ),
        [f"{P}.nodes[1]"],
    ),
    "self loop": (
        _set(lambda d: _node(d, 1)["inputs"].__setitem__(0, {"a": _src("b", "out")})),
        [f"{P}.nodes[1]", f"{P}.nodes[0]"],
    ),
    "node not reaching response": (
        _set(
            lambda d: d["pipeline_config_list"][0]["nodes"].append(
                {
                    "name": "c",
                    "model_name": "add",
                    "type": "DL model",
                    "inputs": [{"x": _src("request", "in")}],
                    "outputs": [{"data_item": "y", "alias": "out"}],
                }
            )
        ),
        [f"{P}.nodes[2]"],
    ),
    "dtype mismatch": (
        _set(lambda d: _node(d, 0).update(model_name="ints")),
        [f"{P}.nodes[1].inputs[0]", f"{P}.nodes[1].inputs[1]"],
    ),
    "shape mismatch": (
        _set(
            lambda d: (
                d[M].append({"config": {"name": "wide", "base_path": "wide"}}),
                _node(d, 0).update(model_name="wide"),
            )
        ),
        [f"{P}.nodes[1].inputs[0]", f"{P}.nodes[1].inputs[1]"],
    ),
    "response as source": (
        _set(lambda d: _node(d, 1)["inputs"][0]["a"].update(node_name="response")),
        [f"{P}.nodes[1].inputs[0].a.node_name"],
    ),
    "reserved node name": (
        _set(lambda d: _node(d, 0).update(name="request")),
        [f"{P}.nodes[0].name", f"{P}.nodes[1].inputs[0].a.node_name"],
    ),
    "duplicate node": (
        _set(lambda d: _node(d, 1).update(name="a")),
        [f"{P}.nodes[1].name", f"{P}.outputs[0].result.node_name"],
    ),
    "auto in pipeline": (
        _set(lambda d: d[M][0]["config"].update(shape="auto")),
        [f"{P}.nodes[0].model_name"],
    ),
    "output name used twice": (
        _set(
            lambda d: d["pipeline_config_list"][0]["outputs"].append({"result": _src("a", "out")})
        ),
        [f"{P}.outputs[1]"],
    ),
    "passthrough of an undeclared input": (
        _set(
            lambda d: d["pipeline_config_list"][0]["outputs"].append(
                {"echo": _src("request", "zz")}
            )
        ),
        [f"{P}.outputs[1].echo.data_item"],
    ),
}
