"""`ovtriton serve --config s3://…/config.json --watch` on the real tritonserver: the config and
its models come from a real S3 API server (moto); a change uploaded there is applied; when the
server goes away the loaded models keep serving and the failure is logged once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import tritonclient.http as httpclient

from ovtriton.server.process import Ports
from ovtriton.storage.emulators import MotoS3
from tests.integration.test_serve_watch import X, Output, eventually, ovms_config, pipeline_result
from tests.models import save, scale_model
from tests.storage.conftest import new_bucket, upload


def test_serve_watches_a_config_in_s3_and_survives_the_server_going_away(
    tmp_path: Path, monkeypatch
) -> None:
    server = MotoS3().start()
    process = None
    try:
        assert server.owns_port()
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        bucket = new_bucket("s3")
        up = tmp_path / "up"
        for version, factor in ((1, 2.0), (2, 3.0)):
            save(scale_model((1, 4), factor=factor), up / "cfg" / "models" / "scale" / str(version))
        (up / "cfg" / "config.json").write_text(
            json.dumps(ovms_config({"latest": {"num_versions": 1}}, None))
        )
        upload(up, f"s3://{bucket}")  # base_path "models/scale": beside the config

        ports = Ports.free()
        url = f"s3://{bucket}/cfg/config.json"
        command = [sys.executable, "-m", "ovtriton", "serve", "--config", url, "--watch"]
        process = subprocess.Popen(
            [*command, "--poll-seconds", "0.3", *ports.flags(), "--workdir", str(tmp_path / "w")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **server.env()},
        )
        output = Output(process)
        eventually(lambda: "Press Ctrl-C to stop" in output.text(), "server up", output, 240)
        client = httpclient.InferenceServerClient(f"127.0.0.1:{ports.http}")
        np.testing.assert_allclose(pipeline_result(client), 3 * X)  # latest version: factor 3

        # A new config uploaded to the bucket: every version, the pipeline pinned to version 1.
        (up / "cfg" / "config.json").write_text(json.dumps(ovms_config({"all": {}}, 1)))
        upload(up / "cfg", f"s3://{bucket}/cfg")
        eventually(lambda: client.is_model_ready("scale", "1"), "version 1 loaded", output)
        eventually(lambda: np.allclose(pipeline_result(client), 2 * X), "pipeline on v1", output)

        # A new version folder uploaded beside the others is picked up (the config unchanged).
        save(scale_model((1, 4), factor=5.0), tmp_path / "v3" / "3")
        upload(tmp_path / "v3", f"s3://{bucket}/cfg/models/scale")
        eventually(lambda: client.is_model_ready("scale", "3"), "version 3 loaded", output)

        # A half-uploaded version (model.xml without its weights) is refused and the models keep
        # serving; when the upload completes, the changed listing makes the watcher retry.
        save(scale_model((1, 4), factor=7.0), tmp_path / "v4" / "4")
        weights = (tmp_path / "v4" / "4" / "model.bin").rename(tmp_path / "model.bin")
        upload(tmp_path / "v4", f"s3://{bucket}/cfg/models/scale")
        half = "scale/4: version 4 is incomplete: model.xml without model.bin"
        eventually(lambda: half in output.text(), "half refused by the mirror", output)
        np.testing.assert_allclose(pipeline_result(client), 2 * X)
        assert not client.is_model_ready("scale", "4")
        weights.rename(tmp_path / "v4" / "4" / "model.bin")
        upload(tmp_path / "v4", f"s3://{bucket}/cfg/models/scale")
        eventually(lambda: client.is_model_ready("scale", "4"), "version 4 loaded", output)

        # The storage server goes away: logged once, the loaded models keep serving.
        server.stop()
        retrying = "the previous repository keeps serving, retrying"

        def outage_lines() -> list[str]:
            return [x for x in output.text().splitlines() if retrying in x and "unreachable" in x]

        eventually(lambda: bool(outage_lines()), "storage failure logged", output)
        for _ in range(3):
            np.testing.assert_allclose(pipeline_result(client), 2 * X)
        assert client.is_model_ready("scale", "2")
        client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=90) == 0, output.text()
        text = output.text()
        (line,) = outage_lines()  # logged once
        assert line.startswith(f"s3://{bucket}/") and "storage endpoint unreachable" in line, line
        assert server.env()["AWS_SECRET_ACCESS_KEY"] not in text
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(30)
        server.stop()


def test_a_repository_written_by_convert_is_served_by_tritonserver_from_s3(
    storage_env: dict[str, str], tmp_path: Path
) -> None:
    """convert -o s3://… and then tritonserver's own S3 code (serve --model-repository s3://…):
    the ensemble's version folder exists for it thanks to the marker object."""
    from ovtriton.cli import main
    from ovtriton.server.process import TritonServer
    from ovtriton.server.remote import resolve

    for version, factor in ((1, 2.0), (2, 3.0)):
        save(scale_model((1, 4), factor=factor), tmp_path / "models" / "scale" / str(version))
    (tmp_path / "config.json").write_text(json.dumps(ovms_config({"all": {}}, 1)))
    url = f"s3://{new_bucket('s3')}/repo"
    assert main(["convert", str(tmp_path / "config.json"), "-o", url]) == 0
    with TritonServer(resolve(url), ports=Ports.free()) as server:
        states = {(m.name, m.version, m.state) for m in server.models()}
        assert states == {("pipe", "1", "READY"), ("scale", "1", "READY"), ("scale", "2", "READY")}
        client = httpclient.InferenceServerClient(server.http_url)
        np.testing.assert_allclose(pipeline_result(client), 2 * X)  # pinned to version 1
        client.close()
