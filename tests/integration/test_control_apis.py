"""Triton's control APIs are closed by default: without ovtriton's admin header a client can
neither load code as a model, unload a model, register shared memory nor change logging; with
it, each works. Inference, health, metadata, model-config and statistics stay open."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
import tritonclient.utils.shared_memory as shm
from tritonclient.utils import InferenceServerException

from ovtriton.server.admin import HEADER
from ovtriton.server.process import Ports, TritonServer
from tests.integration.clients import Client
from tests.models import scale_model
from tests.repository import add_model

X = np.ones((1, 4), np.float32)
MODEL_PY = b"""
import triton_python_backend_utils as pb_utils

class TritonPythonModel:
    def execute(self, requests):
        return [
            pb_utils.InferenceResponse(
                [pb_utils.Tensor("OUT", pb_utils.get_input_tensor_by_name(r, "IN").as_numpy())]
            )
            for r in requests
        ]
"""
INJECTED = json.dumps(
    {
        "backend": "python",
        "max_batch_size": 0,
        "input": [{"name": "IN", "data_type": "TYPE_FP32", "dims": [2]}],
        "output": [{"name": "OUT", "data_type": "TYPE_FP32", "dims": [2]}],
    }
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    repo = tmp_path_factory.mktemp("repo")
    add_model(repo, "scale", scale_model((1, 4)), max_batch_size=4)
    add_model(repo, "spare", scale_model((1, 4)), max_batch_size=4)
    with TritonServer(repo, ports=Ports.free(), workdir=tmp_path_factory.mktemp("work")) as running:
        yield running


def raw(server: TritonServer, protocol: str) -> Any:
    if protocol == "http":
        return httpclient.InferenceServerClient(server.http_url)
    return grpcclient.InferenceServerClient(server.grpc_url)


def refused(call: Callable[[], object], protocol: str) -> str:
    """Run ``call``, which must be refused as unauthorised; returns Triton's message."""
    with pytest.raises(InferenceServerException) as caught:
        call()
    # tritonserver 2.51 answers a restricted gRPC call with UNAVAILABLE, not PERMISSION_DENIED.
    expected = "403" if protocol == "http" else "StatusCode.UNAVAILABLE"
    assert caught.value.status() == expected, caught.value
    assert "is restricted, expecting header" in caught.value.message()
    return caught.value.message()


def still_serves(server: TritonServer) -> None:
    for protocol in ("http", "grpc"):
        result = Client(server, protocol).infer("scale", {"INPUT/x:0": X})["out.y"]
        np.testing.assert_allclose(result, 2 * X)


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_loading_code_needs_the_admin_key(server: TritonServer, protocol: str) -> None:
    client, name = raw(server, protocol), f"injected_{protocol}"
    files = {"file:1/model.py": MODEL_PY}
    message = refused(lambda: client.load_model(name, config=INJECTED, files=files), protocol)
    assert HEADER in message
    assert not client.is_model_ready(name)
    still_serves(server)
    # With the key it works: the refusal above is the restriction, not a broken request.
    client.load_model(name, config=INJECTED, files=files, headers=server.admin_headers)
    two = np.array([1.5, -2.0], np.float32)
    np.testing.assert_allclose(Client(server, protocol).infer(name, {"IN": two})["OUT"], two)
    client.unload_model(name, headers=server.admin_headers)


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_unloading_and_the_repository_index_need_the_admin_key(
    server: TritonServer, protocol: str
) -> None:
    client = raw(server, protocol)
    refused(lambda: client.unload_model("spare"), protocol)
    refused(lambda: client.get_model_repository_index(), protocol)
    assert client.is_model_ready("spare")
    still_serves(server)
    client.unload_model("spare", headers=server.admin_headers)
    client.load_model("spare", headers=server.admin_headers)
    assert client.is_model_ready("spare")


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_shared_memory_needs_the_admin_key(server: TritonServer, protocol: str) -> None:
    client, key = raw(server, protocol), f"/ovtriton_test_{protocol}_{server.ports.http}"
    region = shm.create_shared_memory_region(f"region_{protocol}", key, 64)
    try:
        refused(lambda: client.register_system_shared_memory("r", key, 64), protocol)
        refused(lambda: client.get_system_shared_memory_status(), protocol)
        refused(lambda: client.unregister_system_shared_memory(), protocol)
        still_serves(server)
        client.register_system_shared_memory("r", key, 64, headers=server.admin_headers)
        status = client.get_system_shared_memory_status(headers=server.admin_headers)
        assert "r" in str(status)
        client.unregister_system_shared_memory("r", headers=server.admin_headers)
    finally:
        shm.destroy_shared_memory_region(region)


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_log_settings_need_the_admin_key(server: TritonServer, protocol: str) -> None:
    client = raw(server, protocol)
    refused(lambda: client.update_log_settings({"log_verbose_level": 1}), protocol)
    refused(lambda: client.get_log_settings(), protocol)
    still_serves(server)
    settings = client.update_log_settings({"log_verbose_level": 0}, headers=server.admin_headers)
    assert settings is not None


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_inference_health_metadata_config_and_statistics_stay_open(
    server: TritonServer, protocol: str
) -> None:
    client = raw(server, protocol)
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("scale")
    assert client.get_server_metadata() and client.get_model_metadata("scale")
    assert client.get_model_config("scale") and client.get_inference_statistics("scale")
    still_serves(server)


def test_the_server_names_itself_with_its_own_id(server: TritonServer) -> None:
    metadata = httpclient.InferenceServerClient(server.http_url).get_server_metadata()
    assert metadata["name"] == server.server_id
    assert server.server_id.startswith(f"ovtriton-{os.getpid()}-")  # unique per start


def test_no_other_local_user_can_read_the_admin_key_in_the_command_line(
    server: TritonServer,
) -> None:
    """Issue 19 finding 5: /proc/PID/cmdline (ps) is world-readable; the key is overwritten
    there once tritonserver parsed it, and tritonserver keeps checking the real key."""
    import psutil

    cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes()
    shown = " ".join(psutil.Process(server.pid).cmdline())  # what ps shows
    key = server.admin.value
    assert key.encode() not in cmdline and key not in shown
    mask = "*" * len(key)
    assert f"{HEADER}={mask}" in shown  # the flag is still there, its value hidden
    client = httpclient.InferenceServerClient(server.http_url)
    client.get_model_repository_index(headers=server.admin_headers)  # the real key works
    with pytest.raises(InferenceServerException, match="restricted"):
        client.get_model_repository_index(headers={HEADER: mask})


def test_opting_out_leaves_the_control_apis_open(tmp_path: Path) -> None:
    from ovtriton.server.admin import AdminAccess

    repo = tmp_path / "repo"
    add_model(repo, "scale", scale_model((1, 4)), max_batch_size=4)
    opened = AdminAccess(enabled=False)
    with TritonServer(repo, ports=Ports.free(), workdir=tmp_path / "w", admin=opened) as server:
        client = httpclient.InferenceServerClient(server.http_url)
        assert server.admin_headers == {}
        client.unload_model("scale")
        assert not client.is_model_ready("scale")
