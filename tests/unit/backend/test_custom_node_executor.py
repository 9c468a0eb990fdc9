"""Custom node executions on worker threads overlap each other and OpenVINO: ctypes releases
the GIL during the foreign call. The echo library waits inside ``execute`` for events (a file,
its other calls): the tests synchronise on those, never on the clock."""

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

DEADLINE_S = 60  # waits for events end here (the echo library gives up after 30 s itself)


def wait_for_file(path: Path) -> None:
    """Poll until ``path`` exists (the echo library made it from inside ``execute``)."""
    deadline = time.monotonic() + DEADLINE_S
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.005)


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> CustomNodeLibrary:
    library = CustomNodeLibrary(compile_library("echo", tmp_path_factory.mktemp("cn")), "echo")
    library.initialize({})
    yield library
    library.close()


def test_two_library_calls_run_at_the_same_time(echo: CustomNodeLibrary) -> None:
    """Each call waits inside execute until both are there: one after the other, the first
    would give up (execute returns 9) since the second could never arrive."""
    x = np.arange(4, dtype=np.float32)
    with CustomNodeExecutor(workers=2) as executor:
        futures = [executor.submit(echo, {"x": x + i}, {"meet": "2"}) for i in range(2)]
        results = [future.result(timeout=DEADLINE_S) for future in futures]
    assert [r["x"].tolist() for r in results] == [x.tolist(), (x + 1).tolist()]


def test_one_worker_runs_the_calls_one_after_the_other(tmp_path: Path) -> None:
    """The same meeting on one worker cannot happen: the first call gives up (so the test
    above can fail)."""
    library = CustomNodeLibrary(compile_library("echo", tmp_path), "echo")  # its own count
    library.initialize({})
    x = {"x": np.ones(1, np.float32)}
    with CustomNodeExecutor(workers=1) as executor:
        params = {"meet": "2", "give_up_ms": "200"}
        first = executor.submit(library, x, params)
        second = executor.submit(library, x, params)
        with pytest.raises(CustomNodeError, match="execute returned 9"):
            first.result(timeout=DEADLINE_S)
        # the first one's arrival still counts: the second completes the pair and answers
        assert second.result(timeout=DEADLINE_S)["x"].tolist() == [1.0]
    library.close()


def test_python_and_openvino_run_while_a_node_executes(
    echo: CustomNodeLibrary, tmp_path: Path
) -> None:
    """The node waits inside execute until this thread, running OpenVINO and Python, tells it
    to end: were the GIL held during the foreign call, this thread could never tell it."""
    data = ops.parameter([1, 8], ov.Type.f32, name="x")
    compiled = ov.Core().compile_model(ov.Model([ops.multiply(data, data)], [data]), "CPU")
    x = np.full((1, 8), 3.0, np.float32)
    entered, release = tmp_path / "entered", tmp_path / "release"
    params = {"entered_file": str(entered), "until_file": str(release)}
    with CustomNodeExecutor(workers=1) as executor:
        future = executor.submit(echo, {"x": x}, params)
        wait_for_file(entered)
        for _ in range(20):
            np.testing.assert_array_equal(compiled(x)[0], x * x)
        assert sum(i * i for i in range(20_000)) == 2_666_466_670_000  # pure Python
        assert not future.done(), "the node finished before it was told to"
        release.touch()
        assert future.result(timeout=DEADLINE_S)["x"].tolist() == x.tolist()


def test_the_first_failure_leaves_the_other_calls_running_to_their_end(
    echo: CustomNodeLibrary, tmp_path: Path
) -> None:
    failing = CustomNodeLibrary(compile_library("failing", tmp_path), "bad")
    failing.initialize({})
    x = {"x": np.ones(1, np.float32)}
    release = tmp_path / "release"
    with CustomNodeExecutor(workers=2) as executor:
        slow = executor.submit(echo, x, {"until_file": str(release)})
        with pytest.raises(CustomNodeError, match="custom node 'bad'.*execute returned 7"):
            executor.submit(failing, x, {}).result(timeout=DEADLINE_S)
        assert not slow.done()
        release.touch()
        assert slow.result(timeout=DEADLINE_S)["x"].tolist() == [1.0]
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
        futures = [executor.submit(library, {"image": im}, {"tiles": "3"}) for im in images]
        results = [future.result(timeout=DEADLINE_S) for future in futures]
    assert all(r["tiles"].shape == (3, 1, 2, 2) for r in results)
    assert [float(r["tiles"][2, 0, 1, 1]) for r in results] == [float(i) for i in range(300)]
    assert cdll.cn_allocated() == cdll.cn_released() == 300 * 5


def test_close_waits_for_the_execution_in_flight(tmp_path: Path) -> None:
    library = CustomNodeLibrary(compile_library("echo", tmp_path), "echo")
    library.initialize({})
    entered = tmp_path / "entered"
    with CustomNodeExecutor(1) as executor:
        params = {"entered_file": str(entered), "sleep_ms": "400"}
        future = executor.submit(library, {"x": np.ones(2, np.int64)}, params)
        wait_for_file(entered)  # the call is inside the library now
        library.close()
        assert future.done()
        assert future.result()["x"].tolist() == [1, 1]
