"""Custom node executions on worker threads overlap each other and OpenVINO: ctypes releases
the GIL during the foreign call. The echo library sleeps ``sleep_ms`` inside ``execute``."""

from __future__ import annotations

import ctypes
import time
from pathlib import Path

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest

from ovtriton.backend.custom_node import CustomNodeError, CustomNodeLibrary
from ovtriton.backend.custom_node_executor import CustomNodeExecutor
from tests.custom_nodes.build import compile_library

SLEEP_MS = 600


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> CustomNodeLibrary:
    library = CustomNodeLibrary(compile_library("echo", tmp_path_factory.mktemp("cn")), "echo")
    library.initialize({})
    yield library
    library.close()


def test_two_slow_library_calls_overlap(echo: CustomNodeLibrary) -> None:
    x = np.arange(4, dtype=np.float32)
    params = {"sleep_ms": str(SLEEP_MS)}
    with CustomNodeExecutor(workers=2) as executor:
        start = time.perf_counter()
        results = executor.run_all([(echo, {"x": x}, params), (echo, {"x": x + 1}, params)])
        elapsed = time.perf_counter() - start
    assert [r["x"].tolist() for r in results] == [x.tolist(), (x + 1).tolist()]
    # one after the other would take 2 x 0.6 s; overlapped they take about 0.6 s
    assert SLEEP_MS / 1000 <= elapsed < 1.6 * SLEEP_MS / 1000, elapsed


def test_python_and_openvino_run_while_a_node_executes(echo: CustomNodeLibrary) -> None:
    data = ops.parameter([1, 8], ov.Type.f32, name="x")
    compiled = ov.Core().compile_model(ov.Model([ops.multiply(data, data)], [data]), "CPU")
    x = np.full((1, 8), 3.0, np.float32)
    compiled(x)  # warm up
    with CustomNodeExecutor(workers=1) as executor:
        future = executor.submit(echo, {"x": x}, {"sleep_ms": "1500"})
        time.sleep(0.05)  # let the worker enter the library
        started = time.perf_counter()
        for _ in range(20):
            np.testing.assert_array_equal(compiled(x)[0], x * x)
        sum(i * i for i in range(20_000))  # pure Python: needs the GIL the node does not hold
        openvino_and_python = time.perf_counter() - started
        assert not future.done(), "the node finished before OpenVINO: nothing was shown"
        assert openvino_and_python < 1.5
        assert future.result()["x"].tolist() == x.tolist()


def test_run_all_raises_the_first_failure_after_all_calls_end(
    echo: CustomNodeLibrary, tmp_path: Path
) -> None:
    failing = CustomNodeLibrary(compile_library("failing", tmp_path), "bad")
    failing.initialize({})
    x = {"x": np.ones(1, np.float32)}
    with CustomNodeExecutor(workers=2) as executor:
        start = time.perf_counter()
        with pytest.raises(CustomNodeError, match="custom node 'bad'.*execute returned 7"):
            executor.run_all([(echo, x, {"sleep_ms": "300"}), (failing, x, {})])
        # the failure came at once, but run_all waited for the slow call
        assert time.perf_counter() - start >= 0.3
    failing.close()


def test_many_concurrent_calls_get_their_own_results_and_release_everything(
    tmp_path: Path,
) -> None:
    path = compile_library("split_tiles", tmp_path)
    cdll = ctypes.CDLL(str(path))
    cdll.cn_allocated.restype = cdll.cn_released.restype = ctypes.c_long
    images = [np.full((2, 6), i, np.float32) for i in range(300)]
    with CustomNodeLibrary(path, "split") as library, CustomNodeExecutor(8) as executor:
        library.initialize({})
        results = executor.run_all([(library, {"image": im}, {"tiles": "3"}) for im in images])
    assert all(r["tiles"].shape == (3, 1, 2, 2) for r in results)
    assert [float(r["tiles"][2, 0, 1, 1]) for r in results] == [float(i) for i in range(300)]
    assert cdll.cn_allocated() == cdll.cn_released() == 300 * 5


def test_close_waits_for_the_execution_in_flight(tmp_path: Path) -> None:
    library = CustomNodeLibrary(compile_library("echo", tmp_path), "echo")
    library.initialize({})
    with CustomNodeExecutor(1) as executor:
        future = executor.submit(library, {"x": np.ones(2, np.int64)}, {"sleep_ms": "400"})
        time.sleep(0.1)  # the call is inside the library now
        library.close()
        assert future.done()
        assert future.result()["x"].tolist() == [1, 1]
