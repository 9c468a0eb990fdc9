"""More malformed configs: broken wiring, unsafe names and paths, symlinks; ``all_cases`` adds
the schema cases (``config_corpus``) and the raw texts (``config_raw``)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from tests.reliability.config_corpus import (
    BAD_BASE_PATHS,
    N0,
    N1,
    SYMLINKED,
    UNSAFE_NAMES,
    Case,
    M,
    P,
    _doc,
    _model,
    _node,
    _pipe,
    src,
)


def wiring_cases() -> Iterator[Case]:
    """Dangling references, cycles, type and shape mismatches, duplicates."""
    add_node = {
        "name": "c",
        "model_name": "add",
        "type": "DL model",
        "inputs": [{"x": src("request", "in")}],
        "outputs": [{"data_item": "y", "alias": "o"}],
    }
    cases = {
        "unknown-model": (lambda d: _node(d, 0).update(model_name="nope"), f"{N0}.model_name"),
        "unknown-version": (lambda d: _node(d, 0).update(version=5), f"{N0}.version"),
        "unknown-node": (
            lambda d: _node(d, 1)["inputs"][0]["a"].update(node_name="zz"),
            f"{N1}.inputs[0].a.node_name",
        ),
        "unknown-alias": (
            lambda d: _node(d, 1)["inputs"][0]["a"].update(data_item="zz"),
            f"{N1}.inputs[0].a.data_item",
        ),
        "unknown-request-item": (
            lambda d: _node(d, 1)["inputs"][1]["b"].update(data_item="q"),
            f"{N1}.inputs[1].b.data_item",
        ),
        "unknown-model-output": (
            lambda d: _node(d, 0)["outputs"][0].update(data_item="zz"),
            f"{N0}.outputs[0].data_item",
        ),
        "unknown-model-input": (
            lambda d: _node(d, 0)["inputs"].append({"zz": src("request", "in")}),
            f"{N0}.inputs[1]",
        ),
        "unknown-output-node": (
            lambda d: _pipe(d)["outputs"][0]["result"].update(node_name="q"),
            f"{P}.outputs[0].result.node_name",
        ),
        "input-twice": (
            lambda d: _node(d, 1)["inputs"].append({"b": src("a", "out")}),
            f"{N1}.inputs[2]",
        ),
        "input-unconnected": (lambda d: _node(d, 1)["inputs"].pop(), f"{N1}.inputs"),
        "cycle": (
            lambda d: _node(d, 0).update(
                model_name="sum", inputs=[{"a": src("request", "in")}, {"b": src("b", "out")}]
            ),
            N1,
        ),
        "self-loop": (lambda d: _node(d, 1)["inputs"].__setitem__(0, {"a": src("b", "out")}), N1),
        "unreached-node": (lambda d: _pipe(d)["nodes"].append(add_node), f"{P}.nodes[2]"),
        "dtype-mismatch": (lambda d: _node(d, 0).update(model_name="ints"), f"{N1}.inputs[0]"),
        "shape-mismatch": (
            lambda d: (
                d[M].append({"config": {"name": "wide", "base_path": "wide"}}),
                _node(d, 0).update(model_name="wide"),
            ),
            f"{N1}.inputs[0]",
        ),
        "response-as-source": (
            lambda d: _node(d, 1)["inputs"][0]["a"].update(node_name="response"),
            f"{N1}.inputs[0].a.node_name",
        ),
        "node-named-request": (lambda d: _node(d, 0).update(name="request"), f"{N0}.name"),
        "node-named-response": (lambda d: _node(d, 0).update(name="response"), f"{N0}.name"),
        "duplicate-node": (lambda d: _node(d, 1).update(name="a"), f"{N1}.name"),
        "duplicate-alias": (
            lambda d: _node(d, 0)["outputs"].append({"data_item": "y", "alias": "out"}),
            f"{N0}.outputs[1].alias",
        ),
        "duplicate-model": (lambda d: _model(d, 2).update(name="add"), f"{M}[2].config.name"),
        "duplicate-pipeline": (
            lambda d: d["pipeline_config_list"].append(json.loads(json.dumps(_pipe(d)))),
            "pipeline_config_list[1].name",
        ),
        "pipeline-named-like-model": (lambda d: _pipe(d).update(name="sum"), f"{P}.name"),
        "duplicate-output": (
            lambda d: _pipe(d)["outputs"].append({"result": src("a", "out")}),
            f"{P}.outputs[1]",
        ),
        "output-named-like-input": (
            lambda d: _pipe(d)["outputs"].append({"in": src("a", "out")}),
            f"{P}.outputs[1]",
        ),
        "no-outputs": (lambda d: _pipe(d).update(nodes=[], outputs=[]), f"{P}.outputs"),
        "auto-in-pipeline": (lambda d: _model(d).update(shape="auto"), f"{N0}.model_name"),
        "range-mismatch": (  # 1:2 feeding 3:4 (OVMS: INVALID_SHAPE)
            lambda d: (
                _model(d, 0).update(shape="(1:2,4)"),
                _model(d, 1).update(shape={"a": "(3:4,4)", "b": "(3:4,4)"}),
            ),
            f"{N1}.inputs[0]",
        ),
        "custom-node": (lambda d: _node(d, 0).update(type="custom"), f"{N0}.type"),
        "mediapipe-graph-path": (
            lambda d: (_model(d, 2).pop("base_path"), _model(d, 2).update(graph_path="g.pbtxt")),
            f"{M}[2].config.graph_path",
        ),
        "gather-from-nothing": (
            lambda d: _node(d, 1).update(gather_from_node="zz"),
            f"{N1}.gather_from_node",
        ),
        "demultiply-too-large": (
            lambda d: _node(d, 0).update(demultiply_count=10001),
            f"{N0}.demultiply_count",
        ),
        "mediapipe": (
            lambda d: d.update(mediapipe_config_list=[{"name": "g"}]),
            "mediapipe_config_list",
        ),
        "stateful": (lambda d: _model(d).update(stateful=True), f"{M}[0].config.stateful"),
        "plugin-nested": (
            lambda d: _model(d).update(plugin_config={"A": {"B": 1}}),
            f"{M}[0].config.plugin_config.A",
        ),
        "shape-unknown-input": (
            lambda d: _model(d).update(shape={"zz": "(1,4)"}),
            f"{M}[0].config.shape.zz",
        ),
        "missing-models-key": (lambda d: d.pop(M), "(top level)"),
        "huge-dim": (
            lambda d: _model(d).update(shape="(1,99999999999999999999)"),
            f"{M}[0].config.shape",
        ),
        "huge-batch": (
            lambda d: _model(d).update(batch_size="1:4294967296"),
            f"{M}[0].config.batch_size",
        ),
        "huge-int-batch": (
            lambda d: _model(d).update(batch_size=2**70),
            f"{M}[0].config.batch_size",
        ),
        "huge-node-version": (lambda d: _node(d, 0).update(version=2**64), f"{N0}.version"),
        "huge-specific-version": (
            lambda d: _model(d).update(model_version_policy={"specific": {"versions": [2**63]}}),
            f"{M}[0].config.model_version_policy.specific.versions[0]",
        ),
        "surrogate-device": (
            lambda d: _model(d).update(target_device="\ud800"),
            f"{M}[0].config.target_device",
        ),
        "surrogate-output": (
            lambda d: _pipe(d)["outputs"].append({"\udfff": src("a", "out")}),
            f"{P}.outputs[1]",
        ),
        "surrogate-input": (lambda d: _pipe(d)["inputs"].append("\ud800"), f"{P}.inputs[1]"),
        "surrogate-alias": (
            lambda d: _node(d, 0)["outputs"][0].update(alias="\ud800"),
            f"{N0}.outputs[0].alias",
        ),
        "surrogate-shape-key": (
            lambda d: _model(d).update(shape={"\ud800": "(1,4)"}),
            f"{M}[0].config.shape",
        ),
        "nul-in-node-name": (lambda d: _node(d, 0).update(name="a\x00"), f"{N0}.name"),
        "unicode-digit-shape": (
            lambda d: _model(d).update(shape="(1,\u00b2)"),
            f"{M}[0].config.shape",
        ),
    }
    for name, (mutate, path) in cases.items():
        yield Case(f"wiring-{name}", _doc(mutate), path)


def name_and_path_cases() -> Iterator[Case]:
    for i, name in enumerate(UNSAFE_NAMES):
        yield Case(
            f"model-name-{i}",
            _doc(lambda d, n=name: d[M].append({"config": {"name": n, "base_path": "add"}})),
            f"{M}[3].config.name",
        )
        yield Case(
            f"pipeline-name-{i}", _doc(lambda d, n=name: _pipe(d).update(name=n)), f"{P}.name"
        )
    for i, base in enumerate(BAD_BASE_PATHS):
        yield Case(
            f"base-path-{i}",
            _doc(lambda d, b=base: _model(d).update(base_path=b)),
            f"{M}[0].config.base_path",
        )
    yield Case("base-path-absolute-dotdot", b"", f"{M}[0].config.base_path")  # see the test
    for base in SYMLINKED:
        yield Case(
            f"symlink-{base}",
            _doc(lambda d, b=base: d[M].append({"config": {"name": "linked", "base_path": b}})),
            f"{M}[3].config.base_path",
        )


def all_cases() -> list[Case]:
    from tests.reliability.config_corpus import schema_cases
    from tests.reliability.config_raw import raw_cases

    return [*schema_cases(), *wiring_cases(), *name_and_path_cases(), *raw_cases()]
