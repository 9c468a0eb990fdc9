"""tritonserver (as serve starts it) reading its repository from a real S3 API server."""

from __future__ import annotations

import numpy as np
import pytest
import tritonclient.http as httpclient

from ovtriton.storage.emulators import MotoS3
from ovtriton.errors import UserError
from ovtriton.server.process import Ports, TritonServer
from ovtriton.server.remote import resolve
from tests.cluster.conftest import BUCKET


def test_serves_a_repository_from_the_bucket_with_ovms_variables(
    s3: MotoS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3.env().items():  # OVMS's variables only: serve maps AWS_REGION
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    repository = resolve(f"s3://{BUCKET}/v1")
    with TritonServer(repository, ports=Ports.free()) as server:
        assert [(m.name, m.state) for m in server.models()] == [("scale", "READY")]
        client = httpclient.InferenceServerClient(server.http_url)
        x = np.array([[1.0, -2.0, 3.5, 0.0]], np.float32)
        tensor = httpclient.InferInput("INPUT/x:0", [1, 4], "FP32")
        tensor.set_data_from_numpy(x)
        y = client.infer("scale", [tensor]).as_numpy("out.y")
    np.testing.assert_array_equal(y, x * 2)


def test_a_missing_prefix_is_named_before_tritonserver_starts(
    s3: MotoS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    url = f"s3://{BUCKET}/nothing-here"
    with pytest.raises(UserError, match="no objects under that prefix") as error:
        TritonServer(resolve(url), ports=Ports.free()).start()
    assert url in str(error.value)
    assert s3.env()["AWS_SECRET_ACCESS_KEY"] not in str(error.value)


def test_a_missing_bucket_is_named(s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    with pytest.raises(
        UserError, match="s3://no-such-bucket/p: the S3 server answered NoSuchBucket"
    ):
        TritonServer(resolve("s3://no-such-bucket/p"), ports=Ports.free()).start()


def test_an_unreachable_endpoint_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    closed = Ports.free().http  # nothing listens there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-never-shown")
    monkeypatch.setenv("S3_ENDPOINT", f"http://127.0.0.1:{closed}")
    with pytest.raises(UserError, match="cannot reach the S3 server") as error:
        TritonServer(resolve("s3://bucket/p"), ports=Ports.free()).start()
    assert "s3://bucket/p" in str(error.value)
    assert "secret-never-shown" not in str(error.value)
