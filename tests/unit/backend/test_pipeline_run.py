"""The pipeline model's scheduler on opset-built models: results, overlap, errors."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import openvino as ov
import pytest
from openvino import opset13 as ops

from ovtriton.backend.errors import ModelLoadError, RequestError
from ovtriton.backend.limits import RequestLimits
from ovtriton.backend.pipeline_nodes import ModelNode
from ovtriton.backend.pipeline_run import PipelineRunner
from ovtriton.backend.pipeline_spec import parse_spec

SIZE = 256


def heavy(name: str, repeats: int, factor: float) -> ov.Model:
    """y = x @ W applied ``repeats`` times (W = factor * I / SIZE^0 keeps values exact-ish)."""
    x = ops.parameter([1, SIZE], np.float32, name="x")
    weight = ops.constant(np.eye(SIZE, dtype=np.float32) * factor)
    y = x
    for _ in range(repeats):
        y = ops.matmul(y, weight, False, False)
        y = ops.matmul(y, ops.constant(np.eye(SIZE, dtype=np.float32)), False, False)
    y.output(0).get_tensor().set_names({"y"})
    return ov.Model([y], [x], name)


def join() -> ov.Model:
    a = ops.parameter([1, SIZE], np.float32, name="a")
    b = ops.parameter([1, SIZE], np.float32, name="b")
    s = ops.add(a, b)
    s.output(0).get_tensor().set_names({"sum"})
    return ov.Model([s], [a, b], "join")


def diamond(repeats: int = 1) -> dict[str, Any]:
    node = {"kind": "model", "version": 1}
    return {
        "format": 1,
        "inputs": ["in"],
        "nodes": [
            {**node, "name": "left", "model": "double", "inputs": {"x": ["request", "in"]},
             "outputs": {"out": "y"}},
            {**node, "name": "right", "model": "triple", "inputs": {"x": ["request", "in"]},
             "outputs": {"out": "y"}},
            {**node, "name": "join", "model": "join",
             "inputs": {"a": ["left", "out"], "b": ["right", "out"]},
             "outputs": {"total": "sum"}},
        ],
        "outputs": {"sum": ["join", "total"], "left": ["left", "out"], "echo": ["request", "in"]},
        "models": {"double": {}, "triple": {}, "join": {}},
    }  # fmt: skip


def runner(repeats: int = 1, limits: RequestLimits = RequestLimits()) -> PipelineRunner:
    from ovtriton.backend.signature import Signature

    core = ov.Core()
    config = {
        "INFERENCE_NUM_THREADS": 1,
        "NUM_STREAMS": 1,
        "ENABLE_CPU_PINNING": False,
        "INFERENCE_PRECISION_HINT": "f32",
    }
    models = {
        "left": heavy("double", repeats, 2.0),
        "right": heavy("triple", repeats, 3.0),
        "join": join(),
    }
    nodes = {
        name: ModelNode(name, core.compile_model(m, "CPU", config), Signature.of(m, 0))
        for name, m in models.items()
    }
    return PipelineRunner(parse_spec(diamond(), "test"), nodes, limits)


def test_diamond_answers_every_output() -> None:
    run = runner()
    x = np.linspace(-1, 1, SIZE, dtype=np.float32).reshape(1, SIZE)
    [result] = run.run([{"in": x}])
    assert not isinstance(result, Exception), result
    np.testing.assert_allclose(result["sum"], 5 * x, rtol=1e-5)
    np.testing.assert_allclose(result["left"], 2 * x, rtol=1e-5)
    assert result["echo"] is x  # a pass-through output is the input itself, not a copy


def test_several_requests_in_one_run_and_requested_outputs() -> None:
    run = runner()
    xs = [np.full((1, SIZE), v, np.float32) for v in (1.0, 2.0, 3.0)]
    results = run.run([{"in": x} for x in xs], [["sum"], None, ["left"]])
    assert set(results[0]) == {"sum"} and set(results[1]) == {"sum", "left", "echo"}
    for x, result in zip(xs, results):
        if "sum" in result:
            np.testing.assert_allclose(result["sum"], 5 * x, rtol=1e-5)
    np.testing.assert_allclose(results[2]["left"], 2 * xs[2], rtol=1e-5)
    # the outputs are copies: running again must not change the first answers
    run.run([{"in": np.zeros((1, SIZE), np.float32)}])
    np.testing.assert_allclose(results[1]["left"], 2 * xs[1], rtol=1e-5)


def test_branches_are_in_flight_together() -> None:
    run = runner(repeats=100)
    x = np.ones((1, SIZE), np.float32)
    run.run([{"in": x}])  # warm-up
    overlapped = []
    for _ in range(5):
        run.run([{"in": x}])
        spans = {node: (start, end) for _, node, start, end in run.timings}
        (l0, l1), (r0, r1), (j0, _) = spans["left"], spans["right"], spans["join"]
        assert j0 >= max(l1, r1), f"join started before its inputs were ready: {spans}"
        overlapped.append(l0 < r1 and r0 < l1)
    # A scheduler that runs one branch after the other never overlaps; a loaded machine may
    # delay the second start past the first's end once in a while.
    assert sum(overlapped) >= 4, f"branches ran one after the other: {overlapped}"


def test_bad_requests_are_answered_alone() -> None:
    run = runner(limits=RequestLimits(allow_non_finite=False))
    good = {"in": np.ones((1, SIZE), np.float32)}
    results = run.run(
        [
            {"other": good["in"]},
            {"in": np.ones((1, 3), np.float32)},
            {"in": np.full((1, SIZE), np.nan, np.float32)},
            good,
        ],
        [None, None, None, ["nope"]],
    )
    assert isinstance(results[0], RequestError) and "missing input(s) ['in']" in str(results[0])
    assert isinstance(results[1], RequestError)
    assert "node 'left'" in str(results[1]) and "expected shape [1,256]" in str(results[1])
    assert isinstance(results[2], RequestError) and "NaN" in str(results[2])
    assert isinstance(results[3], RequestError) and "['nope'] do not exist" in str(results[3])
    [after] = run.run([good])
    np.testing.assert_allclose(after["sum"], 5 * good["in"])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(format=2), "$.format"),
        (lambda d: d["nodes"][0].update(kind="custom"), "$.nodes[0].kind"),
        (lambda d: d["nodes"][2]["inputs"].update(a=["left", "nope"]), "$.nodes[2].inputs.a"),
        (lambda d: d["nodes"].reverse(), "$.nodes[0].inputs.a"),
        (lambda d: d["outputs"].update(x=["ghost", "y"]), "$.outputs.x"),
        (lambda d: d["nodes"][1].update(name="left"), "$.nodes[1].name"),
    ],
)
def test_a_broken_description_names_the_field(edit: Any, message: str) -> None:
    document = diamond()
    edit(document)
    with pytest.raises(ModelLoadError, match=re.escape(f"file.json: {message}")):
        parse_spec(document, "file.json")


def test_width_counts_the_nodes_that_can_run_together() -> None:
    assert parse_spec(diamond(), "x").width() == 2
    chain = diamond()
    chain["nodes"][1]["inputs"] = {"x": ["left", "out"]}
    assert parse_spec(chain, "x").width() == 1
    wide = diamond()
    for name in ("b3", "b4"):
        wide["nodes"].insert(0, {**wide["nodes"][0], "name": name})  # more branches off the request
    assert parse_spec(wide, "x").width() == 4
