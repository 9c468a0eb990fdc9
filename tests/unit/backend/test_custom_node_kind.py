"""A custom node as a pipeline node: wiring checked at load, calls on worker threads with one
``done`` each, OVMS's errors per call."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ovtriton.backend.custom_node import CustomNodeError, CustomNodeLoadError
from ovtriton.backend.custom_node_executor import CustomNodeExecutor
from ovtriton.backend.custom_node_kind import CustomNode, CustomNodeCall
from ovtriton.backend.errors import BackendError
from tests.custom_nodes.build import compile_library


@pytest.fixture(scope="module")
def libs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("cn")
    return {name: str(compile_library(name, out)) for name in ("split_tiles", "echo", "failing")}


@pytest.fixture()
def executor() -> Iterator[CustomNodeExecutor]:
    with CustomNodeExecutor(4) as pool:
        yield pool


def finished(calls: queue.SimpleQueue) -> CustomNodeCall:
    return calls.get(timeout=10)


def test_node_runs_on_a_worker_and_reports_done_once(
    libs: dict[str, str], executor: CustomNodeExecutor
) -> None:
    node = CustomNode.load(
        "split", libs["split_tiles"], {"tiles": "2"}, ["image"], ["tiles", "offsets"], executor
    )
    calls: queue.SimpleQueue = queue.SimpleQueue()
    call = node.start({"image": np.arange(8, dtype=np.float32).reshape(2, 4)}, calls.put)
    assert finished(calls) is call and calls.empty()
    assert call.finished >= call.started > 0
    assert not call.finished_without_notice()
    outputs = call.outputs()
    assert outputs["tiles"].tolist() == [[[[0.0, 1.0], [4.0, 5.0]]], [[[2.0, 3.0], [6.0, 7.0]]]]
    assert outputs["offsets"].ravel().tolist() == [0, 2]
    call.release()
    with pytest.raises(BackendError, match="outputs read after release"):
        call.outputs()
    node.close()


def test_two_calls_of_one_node_overlap(libs: dict[str, str], executor: CustomNodeExecutor) -> None:
    node = CustomNode.load("echo", libs["echo"], {"sleep_ms": "400"}, ["any"], ["any"], executor)
    calls: queue.SimpleQueue = queue.SimpleQueue()
    first = node.start({"any": np.ones(1, np.int8)}, calls.put)
    second = node.start({"any": np.zeros(1, np.int8)}, calls.put)
    finished(calls), finished(calls)
    assert second.started < first.finished and first.started < second.finished
    assert [first.outputs()["any"].tolist(), second.outputs()["any"].tolist()] == [[1], [0]]
    node.close()


def test_failed_execute_is_reported_by_outputs(
    libs: dict[str, str], executor: CustomNodeExecutor
) -> None:
    node = CustomNode.load("bad", libs["failing"], {}, ["x"], ["y"], executor)
    calls: queue.SimpleQueue = queue.SimpleQueue()
    call = node.start({"x": np.ones(1, np.float32)}, calls.put)
    assert finished(calls) is call
    with pytest.raises(CustomNodeError) as error:
        call.outputs()
    assert error.value.status == "NODE_LIBRARY_EXECUTION_FAILED"
    assert f"custom node 'bad' (library {libs['failing']}): execute returned 7" in str(error.value)
    node.close()


def test_output_missing_from_execute_is_node_library_missing_output(
    libs: dict[str, str], executor: CustomNodeExecutor
) -> None:
    node = CustomNode.load("echo", libs["echo"], {}, ["any"], ["any"], executor)
    calls: queue.SimpleQueue = queue.SimpleQueue()
    call = node.start({"other": np.ones(1, np.int8)}, calls.put)
    finished(calls)
    with pytest.raises(CustomNodeError) as error:
        call.outputs()
    assert error.value.status == "NODE_LIBRARY_MISSING_OUTPUT"
    assert "execute returned ['other'], without ['any']" in str(error.value)
    node.close()


def test_wiring_that_does_not_match_the_library_fails_the_load(
    libs: dict[str, str], executor: CustomNodeExecutor
) -> None:
    with pytest.raises(CustomNodeLoadError) as error:
        CustomNode.load("split", libs["split_tiles"], {}, ["img"], ["tiles", "boxes"], executor)
    assert str(error.value) == (
        "custom node 'split': outputs ['boxes'] are not produced by the library (it has "
        "['offsets', 'tiles']) (OVMS: Pipeline definition has reference to missing model "
        "output); inputs ['img'] are not inputs of the library (it has ['image']) (OVMS: "
        "Pipeline definition has connection to non existing model input); library inputs "
        "['image'] are not connected (OVMS: Pipeline definition does not have connections for "
        "all inputs of underlying models); fix the node's inputs/outputs"
    )


def test_initialize_failure_fails_the_load_naming_the_library(
    libs: dict[str, str], executor: CustomNodeExecutor
) -> None:
    with pytest.raises(CustomNodeLoadError) as error:
        CustomNode.load("bad", libs["failing"], {"fail_init": "1"}, ["x"], ["y"], executor)
    assert str(error.value).startswith(
        f"custom node 'bad' (library {libs['failing']}): initialize returned 3"
    )


def test_missing_library_fails_the_load(tmp_path: Path, executor: CustomNodeExecutor) -> None:
    with pytest.raises(CustomNodeLoadError, match="no such file"):
        CustomNode.load("n", str(tmp_path / "libnone.so"), {}, [], [], executor)
