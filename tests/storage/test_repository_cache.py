"""`ovtriton serve --model-repository az://|gs://… --watch` served from a local copy kept in step
by ovtriton (storage/repository_cache.py), against Azurite and fake-gcs-server started here.

Azurite sits behind a custom BlobEndpoint, which tritonserver 2.51 cannot read: ``auto`` picks
the local copy by itself. gs:// asks for it (``--repository-cache local``). A model published
again by ``convert -o``'s uploader (config.pbtxt removed first, written last) is switched and
reloaded; a model whose weights are not uploaded yet is never served until they are.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as httpclient

from ovtriton.server.process import Ports
from ovtriton.storage.publish import publish
from ovtriton.storage.repository_cache import triton_cannot_read, use_local_cache
from ovtriton.storage.urls import parse_url
from tests.integration.test_serve_watch import Output, eventually
from tests.models import scale_model
from tests.repository import add_model
from tests.storage.conftest import new_bucket, upload

X = np.array([[1.0, -2.0, 3.0, 0.5]], np.float32)


def repository(folder: Path, factor: float, name: str = "scale") -> Path:
    add_model(folder, name, scale_model((1, 4), factor=factor), max_batch_size=8)
    return folder


def answer(client: httpclient.InferenceServerClient, model: str = "scale") -> np.ndarray:
    tensor = httpclient.InferInput("INPUT/x:0", [1, 4], "FP32")
    tensor.set_data_from_numpy(X)
    return client.infer(model, [tensor]).as_numpy("out.y")


@pytest.mark.parametrize(("scheme", "flags"), [("az", []), ("gs", ["--repository-cache", "local"])])
def test_serve_keeps_a_local_copy_of_a_remote_repository_in_step(
    scheme: str, flags: list[str], storage_env: dict[str, str], tmp_path: Path
) -> None:
    url = f"{scheme}://{new_bucket(scheme)}/repo"
    upload(repository(tmp_path / "v1", 2.0), url)
    ports = Ports.free()
    workdir = tmp_path / "w"
    command = [sys.executable, "-m", "ovtriton", "serve", "--model-repository", url, *flags]
    command += ["--watch", "--poll-seconds", "0.3", *ports.flags(), "--workdir", str(workdir)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ
    )
    try:
        output = Output(process)
        eventually(lambda: "Press Ctrl-C to stop" in output.text(), "server up", output, 240)
        client = httpclient.InferenceServerClient(f"127.0.0.1:{ports.http}")
        np.testing.assert_allclose(answer(client), 2 * X)
        assert (workdir / "repository-cache" / "scale" / "config.pbtxt").is_file()  # served locally

        # Published again (factor 3) the way convert -o does: switched whole, then reloaded.
        publish(repository(tmp_path / "v2", 3.0), parse_url(url), force=True)
        eventually(lambda: np.allclose(answer(client), 3 * X), "the new model served", output)

        # A new model whose weights are not there yet: not copied, not loaded, until they are.
        half = repository(tmp_path / "half", 5.0, name="other")
        weights = (half / "other" / "1" / "model.bin").rename(tmp_path / "model.bin")
        upload(half, url)
        waiting = "other is incomplete: 1/model.xml without model.bin"
        eventually(lambda: waiting in output.text(), "the half model refused", output)
        assert not (workdir / "repository-cache" / "other").exists()
        np.testing.assert_allclose(answer(client), 3 * X)  # the rest keeps serving
        weights.rename(half / "other" / "1" / "model.bin")
        upload(half, url)
        eventually(lambda: client.is_model_ready("other"), "the completed model loaded", output)
        np.testing.assert_allclose(answer(client, "other"), 5 * X)
        client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=90) == 0, output.text()
        secret = storage_env.get("AZURE_STORAGE_CONNECTION_STRING", "AccountKey=")
        assert secret not in output.text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


def test_auto_picks_the_local_copy_only_where_tritonserver_cannot_read() -> None:
    azurite = {"AZURE_STORAGE_CONNECTION_STRING": "AccountName=a;BlobEndpoint=http://h:1/a"}
    assert triton_cannot_read("az://c/p", azurite) == (
        "the Azure connection string names a custom BlobEndpoint"
    )
    assert use_local_cache("auto", "az://c/p", azurite)
    assert not use_local_cache("auto", "s3://b/p", {})
    assert not use_local_cache("auto", "gs://b/p", {})
    assert use_local_cache("local", "s3://b/p", {})
    with pytest.raises(Exception, match="use --repository-cache local"):
        use_local_cache("triton", "az://c/p", azurite)


def test_the_cache_switches_whole_models_and_retires_removed_ones(
    storage_env: dict[str, str], tmp_path: Path
) -> None:
    from ovtriton.storage.filesystem import open_filesystem
    from ovtriton.storage.repository_cache import RepositoryCache

    url = f"s3://{new_bucket('s3')}/repo"
    repository(repository(tmp_path / "up", 2.0, name="a"), 3.0, name="b")
    upload(tmp_path / "up", url)
    cache = RepositoryCache(url, tmp_path / "cache" / "repository")
    retired: list[str] = []
    cache.on_retire = retired.append
    assert cache.sync() == ({"a", "b"}, set())
    local_a = (cache.repository / "a" / "1" / "model.bin").read_bytes()
    assert local_a == (tmp_path / "up" / "a" / "1" / "model.bin").read_bytes()
    assert cache.sync() == (set(), set())  # nothing changed: nothing copied

    fs = open_filesystem(parse_url(url))
    fs.rm(f"{parse_url(url).path}/a/config.pbtxt")  # a publish of `a` has begun
    fs.rm(f"{parse_url(url).path}/b", recursive=True)  # `b` is gone
    assert cache.sync() == (set(), {"b"})
    assert retired == ["b"] and not (cache.repository / "b").exists()
    assert (cache.repository / "a" / "1" / "model.bin").read_bytes() == local_a  # kept whole
    assert (cache.repository / "a" / "config.pbtxt").is_file()

    repository(tmp_path / "up2", 7.0, name="a")
    upload(tmp_path / "up2", url)  # the publish completes
    assert cache.sync() == ({"a"}, set())
    new_a = (cache.repository / "a" / "1" / "model.bin").read_bytes()
    assert new_a == (tmp_path / "up2" / "a" / "1" / "model.bin").read_bytes() != local_a
