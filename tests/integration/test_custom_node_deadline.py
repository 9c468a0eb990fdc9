"""A custom node that hangs in `execute` (issue 19 finding 7): the request is answered with
DEADLINE_EXCEEDED after CUSTOM_NODE_DEADLINE_SECONDS, the hung node refuses later requests
at once, its stub is replaced (the watchdog reloads the model) and the model serves again;
tritonserver and the other models never notice."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import psutil
import pytest
from tritonclient.utils import InferenceServerException

from ovtriton.converter import ConversionOptions, convert
from ovtriton.server.process import Ports, TritonServer
from tests.custom_nodes.build import compile_library
from tests.custom_nodes.faulty import write_one_node_config
from tests.integration.clients import Client

pytestmark = pytest.mark.integration

GOOD = np.arange(4, dtype=np.float32).reshape(1, 4)
HANGS = -GOOD - 1  # x[0] < 0: the library sleeps for good
CRASHES = GOOD + 1000  # x[0] >= 1000: the library raises SIGSEGV


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    root = tmp_path_factory.mktemp("deadline")
    library = compile_library("sleepy", root)
    config = write_one_node_config(root / "ovms", library)
    repo = convert(config, root / "repo", options=ConversionOptions(copy=True)).out_dir
    config = repo / "pipe" / "config.pbtxt"
    config.write_text(
        config.read_text()
        + 'parameters { key: "CUSTOM_NODE_DEADLINE_SECONDS" value { string_value: "2" } }\n'
    )
    with TritonServer(repo, ports=Ports.free(), log_path=root / "tritonserver.log") as running:
        yield running


def stubs(server: TritonServer) -> list[int]:
    return [
        p.pid
        for p in psutil.Process(server.pid).children()
        if p.name().startswith("triton_python_b") and p.status() != psutil.STATUS_ZOMBIE
    ]


def serves_again(client: Client, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            assert np.array_equal(client.infer("pipe", {"x": GOOD})["y"], GOOD)
            return
        except InferenceServerException:
            time.sleep(0.5)
    raise AssertionError(f"'pipe' did not serve again within {limit:.0f} s")


def test_a_hung_node_is_answered_deadline_exceeded_and_the_model_comes_back(
    server: TritonServer,
) -> None:
    client = Client(server, "grpc", timeout=120)
    assert np.array_equal(client.infer("pipe", {"x": GOOD})["y"], GOOD)
    before = stubs(server)
    error = client.error("pipe", {"x": HANGS})
    assert "DEADLINE_EXCEEDED: custom node 'node' did not finish within 2 s" in error.message()
    assert "CUSTOM_NODE_DEADLINE_SECONDS" in error.message()
    serves_again(client)
    assert server.watchdog is not None and "pipe" in server.watchdog.revived
    assert stubs(server) != before  # a new stub: the stuck thread went with the old one
    assert server.running and server.is_ready()
    assert "hung past their deadline; this stub" in server.log_tail(200)
    zombies = [
        p.pid for p in psutil.Process(server.pid).children() if p.status() == psutil.STATUS_ZOMBIE
    ]
    assert zombies == []  # the dead stub was reaped (SIGCHLD ignored in tritonserver)


def test_stubs_crashing_in_execute_are_revived_and_leave_no_zombie(server: TritonServer) -> None:
    client = Client(server, "grpc", timeout=120)
    serves_again(client)
    revived = len(server.watchdog.revived) if server.watchdog else 0
    for _ in range(3):
        client.error("pipe", {"x": CRASHES})
        serves_again(client)
    assert server.watchdog is not None and len(server.watchdog.revived) >= revived + 3
    zombies = [
        p.pid for p in psutil.Process(server.pid).children() if p.status() == psutil.STATUS_ZOMBIE
    ]
    assert zombies == []  # was one per crash: Triton 2.51 never waits for a crashed stub
