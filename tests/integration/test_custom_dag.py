"""OVMS DAGs with custom node libraries and demultiplexing, served by the real tritonserver as
pipeline models: every answer (gRPC and HTTP) equal to the in-process reference of OVMS's
semantics (``tests/custom_nodes/reference.py``), OVMS's errors, a library failing its
initialization, and sub-requests overlapping (per-node metrics against the request's time)."""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ovtriton.converter import ConversionOptions, convert
from ovtriton.server.process import Ports, TritonServer
from tests.custom_nodes.dag_cases import SLEEP_MS, SLOW_TILES, reference, write_dag_config
from tests.integration.clients import Client

pytestmark = pytest.mark.integration

RNG = np.random.default_rng(31)
REQUESTS = {
    "crop_classify": [{"image": RNG.random((4, 12), np.float32)} for _ in range(2)],
    "crop_static": [{"image": RNG.random((2, 8), np.float32)}],
    "scores": [
        {"image": RNG.random((3, 6), np.float32)},
        {"image": RNG.random((1, 10), np.float32)},
    ],
    "entry": [{"x": RNG.random((n, 2, 3), np.float32)} for n in (1, 3)],
    "entry_gather": [{"image": RNG.random((n, 1, 2, 4), np.float32)} for n in (1, 4)],
    "chain": [{"x": RNG.random((4, 3), np.float32)}],
    "nested": [{"image": RNG.random((2, 8), np.float32)}],
}
BROKEN = "failing_init"  # the failing pipeline with params that make initialize fail


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("custom_dag")


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[TritonServer]:
    repo = convert(
        write_dag_config(root / "ovms"), root / "repo", options=ConversionOptions(copy=True)
    ).out_dir
    shutil.copytree(repo / "failing", repo / BROKEN)
    config = repo / BROKEN / "config.pbtxt"
    config.write_text(config.read_text().replace('name: "failing"', f'name: "{BROKEN}"'))
    described_path = repo / BROKEN / "1" / "pipeline.json"
    described = json.loads(described_path.read_text())
    described["nodes"][0]["params"] = {"fail_init": "1"}
    described_path.write_text(json.dumps(described))
    with TritonServer(repo, ports=Ports.free(), log_path=root / "tritonserver.log") as running:
        yield running


def test_every_pipeline_loads_and_a_failing_init_fails_its_load(server: TritonServer) -> None:
    states = {m.name: (m.state, m.reason) for m in server.models()}
    for name in (*REQUESTS, "crop_mismatch", "slow", "failing"):
        assert states[name][0] == "READY", f"{name}: {states[name]}\n{server.log_tail()}"
    state, reason = states[BROKEN]
    assert state == "UNAVAILABLE"
    assert "libfailing.so" in reason and "initialize returned 3" in reason, reason


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_answers_equal_the_reference(server: TritonServer, root: Path, protocol: str) -> None:
    client = Client(server, protocol, timeout=60)
    for name, requests in REQUESTS.items():
        for request in requests:
            got = client.infer(name, request)
            want = reference(root / "ovms", name, request)
            assert sorted(got) == sorted(want), name
            for key, value in want.items():
                assert got[key].dtype == value.dtype and got[key].shape == value.shape, (name, key)
                np.testing.assert_allclose(got[key], value, rtol=1e-5, err_msg=f"{name}.{key}")


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_ovms_errors_name_the_node(server: TritonServer, protocol: str) -> None:
    client = Client(server, protocol, timeout=60)
    mismatch = str(client.error("crop_mismatch", {"image": np.ones((2, 8), np.float32)}))
    assert "Wrong dimension size. Should match demultiply count" in mismatch
    assert "node 'split' output 'tiles'" in mismatch and "dim 0 must be 3" in mismatch
    error = client.error("failing", {"x": np.ones(1, np.float32)})
    # a server-side failure: gRPC INTERNAL / HTTP 500 (OVMS: gRPC UNKNOWN; Triton would send
    # UNKNOWN as HTTP 400, a client error, so it is not used)
    assert str(error.status()) in ("StatusCode.INTERNAL", "500"), error.status()
    failing = str(error)
    assert "custom node 'broken' (library " in failing
    assert "libfailing.so): execute returned 7" in failing
    # the server keeps answering after a library error
    assert client.infer("chain", REQUESTS["chain"][0])["out"].shape == (4, 3)


def _node_metrics(server: TritonServer, pipeline: str, name: str) -> tuple[float, float]:
    text = urllib.request.urlopen(server.metrics_url, timeout=10).read().decode()
    values = []
    for metric in ("ovtriton_pipeline_node_duration_us", "ovtriton_pipeline_node_executions"):
        found = re.search(
            rf'{metric}{{node="{name}",pipeline="{pipeline}",stub_pid="\d+"}} (\S+)', text
        )
        values.append(float(found.group(1)) if found else 0.0)
    return values[0], values[1]


def test_sub_requests_overlap(server: TritonServer) -> None:
    """Each of the 4 sub-requests sleeps SLEEP_MS in its custom node, then waits there until
    all 4 are inside at once (the echo library's ``meet``): run one after the other, the first
    would give up and the request fail. The node's summed time (metrics) is 4 x SLEEP_MS."""
    client = Client(server, "grpc", timeout=120)
    image = np.ones((2, 4 * SLOW_TILES), np.float32)
    scores = client.infer("slow", {"image": image})["scores"]
    assert scores.shape == (SLOW_TILES, 1)
    # node sums are sent at most once a second, by a later request: poll with a deadline
    deadline = time.monotonic() + 60
    micros, executions = _node_metrics(server, "slow", "sleep")
    while executions < SLOW_TILES:
        assert time.monotonic() < deadline, "the node's metrics never arrived"
        client.infer("slow", {"image": image})
        micros, executions = _node_metrics(server, "slow", "sleep")
    assert micros / 1e6 >= executions * SLEEP_MS / 1000 * 0.95  # every shard slept its time
