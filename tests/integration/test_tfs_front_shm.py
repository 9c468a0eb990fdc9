"""The TFS front's shared-memory path to Triton (``FrontConfig.shared_memory``,
``ovtriton/tfs/shm_pool.py``) answers exactly as its plain path, and releases its regions when
it stops, also when Triton stopped first."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from ovtriton.converter import convert
from ovtriton.server.process import Ports, TritonServer
from ovtriton.tfs import protos
from ovtriton.tfs.front import FrontConfig, TfsFront
from ovtriton.tfs.shm_pool import PREFIX
from ovtriton.tfs.tensors import from_numpy, to_numpy
from tests.integration.test_serve_cli import read_until
from tests.integration.test_tfs_front import PIPELINE, images, kserve_label, write_ovms_config

pytestmark = pytest.mark.integration

REGIONS = f"{PREFIX}_{os.getpid()}_"  # the fronts run in this process


def start_front(server: TritonServer, shared_memory: bool) -> tuple[TfsFront, str]:
    ports = Ports.free()
    front = TfsFront(
        FrontConfig(
            host="127.0.0.1",
            grpc_port=ports.grpc,
            rest_port=None,
            triton_grpc=server.grpc_url,
            triton_http=server.http_url,
            triton_headers=tuple(server.admin_headers.items()),
            shared_memory=shared_memory,
        )
    )
    front.start()
    return front, f"127.0.0.1:{ports.grpc}"


def registered(server: TritonServer) -> list[str]:
    client = grpcclient.InferenceServerClient(server.grpc_url)
    try:
        status = client.get_system_shared_memory_status(headers=server.admin_headers)
        return sorted(name for name in status.regions if name.startswith(REGIONS))
    finally:
        client.close()


def segments() -> list[str]:
    return sorted(p.name for p in Path("/dev/shm").iterdir() if p.name.startswith(REGIONS))


def predict(url: str, model: str, inputs: dict[str, np.ndarray], wanted: list[str]) -> Any:
    request = protos.PredictRequest()
    request.model_spec.name = model
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(from_numpy(value, False))
    request.output_filter.extend(wanted)
    with grpc.insecure_channel(url) as channel:
        rpc = channel.unary_unary(
            "/tensorflow.serving.PredictionService/Predict",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=protos.PredictResponse.FromString,
        )
        response = rpc(request, timeout=60)
    return {name: to_numpy(tensor) for name, tensor in response.outputs.items()}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TritonServer]:
    repo = convert(write_ovms_config(tmp_path / "ovms"), tmp_path / "repo").out_dir
    with TritonServer(repo, ports=Ports.free(), log_path=tmp_path / "tritonserver.log") as running:
        yield running


def test_the_shared_memory_path_answers_exactly_as_the_plain_path(server: TritonServer) -> None:
    plain, plain_url = start_front(server, shared_memory=False)
    shared, shared_url = start_front(server, shared_memory=True)
    try:
        assert registered(server) == []  # nothing before the first request
        for image in images(3):  # the first request learns the output sizes, then shm
            want = predict(plain_url, PIPELINE, {"image": image}, [])
            for _ in range(2):
                got = predict(shared_url, PIPELINE, {"image": image}, [])
                assert list(got) == ["label"] and got["label"].dtype == want["label"].dtype
                np.testing.assert_array_equal(got["label"], want["label"])
        rng = np.random.default_rng(1)
        for rows in (2, 5, 5):  # new input shapes: learned again
            a = rng.standard_normal((rows, 3)).astype(np.float32)
            b = rng.standard_normal((rows, 3)).astype(np.float32)
            want = predict(plain_url, "two", {"a": a, "b": b}, ["sum", "prod"])
            got = predict(shared_url, "two", {"a": a, "b": b}, ["sum", "prod"])
            assert sorted(got) == ["prod", "sum"]
            for name in ("sum", "prod"):
                np.testing.assert_array_equal(got[name], want[name])
                assert got[name].shape == (rows, 3)
        in_use = registered(server)
        assert in_use and len(in_use) % 2 == 0  # input and output regions, reused
        assert segments() == in_use
    finally:
        shared.stop()
        plain.stop()
    assert registered(server) == [] and segments() == []  # released when the front stops


def test_regions_are_released_when_triton_stopped_first(server: TritonServer) -> None:
    shared, url = start_front(server, shared_memory=True)
    try:
        image = images(1)[0]
        first = predict(url, PIPELINE, {"image": image}, [])
        np.testing.assert_array_equal(
            predict(url, PIPELINE, {"image": image}, [])["label"], first["label"]
        )
        assert registered(server) and segments()
        server.stop()
    finally:
        shared.stop()
    assert segments() == []


@pytest.mark.parametrize("flags", [[], ["--front-shared-memory", "off"]], ids=["default", "off"])
def test_serve_front_shared_memory_answers_and_releases_its_regions_at_stop(
    tmp_path: Path, flags: list[str]
) -> None:
    """By default serve's front passes tensors through shared memory; ``off`` never does."""
    config = write_ovms_config(tmp_path / "ovms")
    triton, ovms = Ports.free(), Ports.free()
    command = [
        sys.executable, "-m", "ovtriton", "serve", "--config_path", str(config),
        "--port", str(ovms.grpc), *flags, *triton.flags(),
        "--workdir", str(tmp_path / "work"),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    prefix = f"{PREFIX}_{process.pid}_"
    try:
        read_until(process, "Press Ctrl-C to stop")
        url = f"127.0.0.1:{ovms.grpc}"
        image = images(1)[0]
        answers = [predict(url, PIPELINE, {"image": image}, [])["label"] for _ in range(3)]
        want = kserve_label(f"127.0.0.1:{triton.grpc}", image)
        for got in answers:  # plain first, then through shared memory
            np.testing.assert_array_equal(got, want)
        used = any(p.name.startswith(prefix) for p in Path("/dev/shm").iterdir())
        assert used == (flags == [])
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert not any(p.name.startswith(prefix) for p in Path("/dev/shm").iterdir())
