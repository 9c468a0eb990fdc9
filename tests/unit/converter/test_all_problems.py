"""Issue #3: every problem that does not depend on another one is reported in the same run.

A field's parse error does not hide the same model's base path or versions; an unsupported
pipeline feature does not hide the pipeline's missing models, aliases, unconnected inputs or
cycles. True cascades stay hidden: what cannot be read is not reported again as "missing".
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest
from ovtriton.converter import ConfigError, plan

from tests.unit.converter.invalid_cases import BASE, M, P, _models, _node, _src
from tests.unit.converter.seed_models import elementwise, save


def _paths(root: Path, doc: dict) -> list[str]:
    config = root / "config.json"
    config.write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as info:
        plan(config)
    assert all(p.message for p in info.value.problems)
    return info.value.paths


def _pipeline(doc: dict) -> dict:
    return doc["pipeline_config_list"][0]


def test_plan_reports_independent_problems_of_models_and_pipelines_in_one_run(
    tmp_path: Path,
) -> None:
    save(elementwise(["input"], "prob", [1, 4]), tmp_path / "good" / "1" / "model.xml")
    doc = {
        M: [
            {"config": {"name": "good", "base_path": "good"}},
            {"config": {"name": "bad", "base_path": "../x", "shape": "(1,3,224", "stateful": True}},
        ],
        "pipeline_config_list": [
            {
                "name": "p",
                "inputs": ["image"],
                "demultiply_count": 10_001,  # over OVMS's limit
                "nodes": [
                    {
                        "name": "n1",
                        "model_name": "good",
                        "type": "DL model",
                        "inputs": [{"input": _src("request", "image")}],
                        "outputs": [{"data_item": "probz", "alias": "p"}],
                    },
                    {
                        "name": "n2",
                        "model_name": "missing",
                        "type": "DL model",
                        "inputs": [{"input": _src("n1", "p")}],
                        "outputs": [{"data_item": "y", "alias": "y"}],
                    },
                ],
                "outputs": [{"out": _src("n2", "y")}],
            }
        ],
    }
    assert set(_paths(tmp_path, doc)) == {
        f"{M}[1].config.stateful",
        f"{M}[1].config.shape",
        f"{M}[1].config.base_path",  # '..', hidden behind the shape before
        f"{P}.demultiply_count",
        f"{P}.nodes[0].outputs[0].data_item",  # no output 'probz'
        f"{P}.nodes[1].model_name",  # no model 'missing'
    }


def _custom(node: dict) -> None:
    node.update(type="custom", library_name="lib")
    node.pop("model_name")


# mutation of BASE -> the paths reported, in order: independent problems all appear together,
# echoes of one problem do not
CASES: dict[str, tuple[Callable[[dict], Any], list[str]]] = {
    "bad shape and missing base path": (
        lambda d: d[M][0]["config"].update(shape="1,3", base_path="nowhere"),
        [f"{M}[0].config.shape", f"{M}[0].config.base_path"],
    ),
    "stateful, unsafe name and missing base path": (
        lambda d: d[M][2]["config"].update(stateful=True, name="a b", base_path="nowhere"),
        [f"{M}[2].config.stateful", f"{M}[2].config.name", f"{M}[2].config.base_path"],
    ),
    "bad nireq and missing specific version": (
        lambda d: d[M][0]["config"].update(
            nireq=-1, model_version_policy={"specific": {"versions": [9]}}
        ),
        [f"{M}[0].config.nireq", f"{M}[0].config.model_version_policy"],
    ),
    "bad version number, no echo about versions": (
        lambda d: d[M][0]["config"].update(model_version_policy={"specific": {"versions": [0]}}),
        [f"{M}[0].config.model_version_policy.specific.versions[0]"],
    ),
    "duplicate model name and missing base path": (
        lambda d: d[M].append({"config": {"name": "add", "base_path": "nowhere"}}),
        [f"{M}[3].config.name", f"{M}[3].config.base_path"],
    ),
    "custom loader, no echo about its folder": (
        lambda d: d[M][0]["config"].update(
            custom_loader_options={"loader_name": "x"}, base_path="x"
        ),
        [f"{M}[0].config.custom_loader_options"],
    ),
    "broken model, no echo about its outputs": (
        lambda d: (
            d[M][0]["config"].update(nireq="4"),
            _node(d, 0)["outputs"][0].update(data_item="zz"),
        ),
        [f"{M}[0].config.nireq"],
    ),
    "node demultiply and missing model": (
        lambda d: (_node(d, 0).update(demultiply_count=2), _node(d, 1).update(model_name="nope")),
        [f"{P}.nodes[1].model_name", f"{P}.nodes[0].demultiply_count"],  # outputs of rank 2
    ),
    "gather and missing alias": (
        lambda d: (
            _node(d, 0).update(demultiply_count=2),
            _node(d, 1).update(gather_from_node="a"),
            _node(d, 1)["inputs"][0]["a"].update(data_item="zz"),
        ),
        # 'a' demultiplexes: the gather is valid; its outputs of rank 2 are not
        [f"{P}.nodes[0].demultiply_count", f"{P}.nodes[1].inputs[0].a.data_item"],
    ),
    "gather, no shape check": (
        lambda d: (
            d[M].append({"config": {"name": "wide", "base_path": "wide"}}),
            _node(d, 0).update(model_name="wide", demultiply_count=2),
            _node(d, 1).update(gather_from_node="a"),
        ),
        [f"{P}.nodes[0].demultiply_count"],  # no shard shape to compare: no echo
    ),
    "custom node and unconnected input": (
        lambda d: (_custom(_node(d, 0)), _node(d, 1)["inputs"].pop()),
        [f"{P}.nodes[0].library_name", f"{P}.nodes[1].inputs"],
    ),
    "custom node and missing alias and source node": (
        lambda d: (
            _custom(_node(d, 0)),
            _node(d, 0)["inputs"][0]["x"].update(node_name="zz"),
            _node(d, 1)["inputs"][0]["a"].update(data_item="zz"),
        ),
        [
            f"{P}.nodes[0].library_name",
            f"{P}.nodes[0].inputs[0].x.node_name",
            f"{P}.nodes[1].inputs[0].a.data_item",
        ],
    ),
    "pipeline demultiply and cycle": (
        lambda d: (
            _pipeline(d).update(demultiply_count=2),
            _node(d, 0).update(
                model_name="sum", inputs=[{"a": _src("request", "in")}, {"b": _src("b", "out")}]
            ),
        ),
        [f"{P}.nodes[1]"],
    ),
    "pipeline demultiply and unknown model input": (
        lambda d: (
            _pipeline(d).update(demultiply_count=2),
            _node(d, 1)["inputs"].append({"c": _src("request", "in")}),
        ),
        [f"{P}.nodes[1].inputs[2]"],
    ),
    "pipeline named like a model and missing model": (
        lambda d: (_pipeline(d).update(name="sum"), _node(d, 0).update(model_name="nope")),
        [f"{P}.name", f"{P}.nodes[0].model_name"],
    ),
    "unreadable source, no unconnected or unreachable echo": (
        lambda d: _node(d, 1)["inputs"][0]["a"].pop("data_item"),
        [f"{P}.nodes[1].inputs[0].a"],
    ),
    "unreadable alias, no missing alias echo": (
        lambda d: _node(d, 0)["outputs"][0].pop("alias"),
        [f"{P}.nodes[0].outputs[0]"],
    ),
    "unreadable node name, no missing node echo": (
        lambda d: _node(d, 0).pop("name"),
        [f"{P}.nodes[0]"],
    ),
    "unreadable pipeline input, no missing input echo": (
        lambda d: _pipeline(d).update(inputs=[5]),
        [f"{P}.inputs[0]"],
    ),
    "unreadable pipeline output, no unreachable echo": (
        lambda d: _pipeline(d)["outputs"][0]["result"].pop("data_item"),
        [f"{P}.outputs[0].result"],
    ),
    "unreadable node inputs, no unconnected echo": (
        lambda d: _node(d, 1).update(inputs={}),
        [f"{P}.nodes[1].inputs"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_reports_every_independent_problem_and_no_echo(case: str, tmp_path: Path) -> None:
    mutate, expected = CASES[case]
    _models(tmp_path)
    doc = copy.deepcopy(BASE)
    mutate(doc)
    assert _paths(tmp_path, doc) == expected
