"""One real tritonserver for the integration tests, started the way `ovtriton serve` starts it."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from openvino import opset13 as ops
import openvino as ov

from ovtriton.server.process import Ports, TritonServer
from tests.models import image_model, save, scale_model, two_input_model
from tests.repository import add_model, write_config, write_minimal_config


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


def onnx_file(path: Path) -> Path:
    """A tiny ONNX model (y = x + 1) written with the onnx package."""
    import onnx
    from onnx import TensorProto, helper

    one = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    node = helper.make_node("Add", ["x", "one"], ["y"])
    graph = helper.make_graph(
        [node],
        "add_one",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
        initializer=[one],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def build_repository(repo: Path) -> None:
    # Serving models.
    add_model(repo, "scale", scale_model((1, 4)), max_batch_size=8, dynamic_batching=True)
    add_model(repo, "two", two_input_model(), max_batch_size=0)
    add_model(repo, "ints", scale_model((-1, 3), np.int64, "i", "o"), max_batch_size=0)
    add_model(
        repo,
        "image_nhwc",
        image_model(),
        max_batch_size=0,
        parameters={
            "LAYOUT": '{"image": "NHWC:NCHW"}',
            "CACHE_DIR": "cache",
            "PERFORMANCE_HINT": "LATENCY",
            "NIREQ": "2",
        },
        tensors=([("image", "TYPE_FP32", [1, 4, 4, 3])], [("mean", "TYPE_FP32", [1, 3])]),
    )
    flags = ops.parameter([-1, 2], np.bool_, name="flags")
    negated = ops.logical_not(flags)
    negated.output(0).get_tensor().set_names({"negated"})
    add_model(repo, "bools", ov.Model([negated], [flags]), max_batch_size=4)
    onnx_file(repo / "onnx_add" / "1" / "model.onnx")
    write_config(repo / "onnx_add", [("x", "TYPE_FP32", [-1, 2])], [("y", "TYPE_FP32", [-1, 2])])
    # The config is looser than the model (dims -1 where the model has 4): Triton lets any
    # width through and the backend must answer the bad ones itself.
    save(scale_model((1, 4)), repo / "loose" / "1")
    write_config(
        repo / "loose",
        [("INPUT/x:0", "TYPE_FP32", [-1])],
        [("out.y", "TYPE_FP32", [-1])],
        max_batch_size=4,
    )
    # Configs with only name, backend and batching: auto_complete_config adds the tensors.
    save(scale_model((-1, 4)), repo / "auto_batched" / "1")
    write_minimal_config(repo / "auto_batched", max_batch_size=4)
    save(image_model(), repo / "auto_layout" / "1")
    write_minimal_config(repo / "auto_layout", parameters={"LAYOUT": '{"image": "NHWC:NCHW"}'})
    save(scale_model((-1, 4)), repo / "auto_version" / "1")  # the loaded version is read,
    save(scale_model((-1, 6)), repo / "auto_version" / "2")  # not the highest one
    write_minimal_config(repo / "auto_version", extra="version_policy { specific { versions: 1 } }")
    # Broken models: each must be UNAVAILABLE with its reason, the others READY.
    write_config(repo / "broken_missing_file", [("x", "TYPE_FP32", [4])], [("y", "TYPE_FP32", [4])])
    (repo / "broken_missing_file" / "1").mkdir()
    corrupt = add_model(repo, "broken_corrupt", scale_model())
    (corrupt / "1" / "model.xml").write_text("<net>truncated")
    add_model(repo, "broken_device", scale_model(), parameters={"TARGET_DEVICE": "NPU7"})
    add_model(repo, "broken_parameter", scale_model(), parameters={"NUM_STREAM": "2"})
    save(scale_model((-1, 4)), repo / "broken_dims" / "1")
    write_config(
        repo / "broken_dims",
        [("INPUT/x:0", "TYPE_FP32", [-1, 5])],
        [("out.y", "TYPE_FP32", [-1, 4])],
    )


BROKEN = {
    "broken_missing_file": "no model file in",
    "broken_corrupt": "cannot read model file",
    "broken_device": "TARGET_DEVICE: device 'NPU7' is not available",
    "broken_parameter": "unknown parameter(s) NUM_STREAM",
    "broken_dims": "config input 'INPUT/x:0' has dims [-1,5], the model's shape is [-1,4]",
}


@pytest.fixture(scope="session")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("repo")
    build_repository(repo)
    return repo


@pytest.fixture(scope="session")
def server(repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    workdir = tmp_path_factory.mktemp("server")
    with TritonServer(repository, ports=Ports.free(), workdir=workdir) as running:
        yield running
