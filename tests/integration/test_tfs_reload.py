"""OVMS's `POST /v1/config/reload` against `ovtriton serve --config_path` with polling off
(`--file_system_poll_wait_seconds 0`, where OVMS reloads only on that request): 200 when nothing
changed, 201 with the config status when models came or went, a removed model shown as END
(by the TFS status over gRPC and REST), an invalid config refused while the models keep
serving; 501 with the reason when a Triton repository is served. Triton's latency summaries
are on by default and reach the REST port's /metrics."""

from __future__ import annotations

import time

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import ovmsclient
import pytest

from ovtriton.server.process import Ports
from tests.integration.test_serve_cli import read_until
from tests.models import save, two_input_model

pytestmark = pytest.mark.integration
OK = {"error_code": "OK", "error_message": "OK"}


def post(rest: str, path: str) -> tuple[int, Any]:
    request = urllib.request.Request(f"http://{rest}{path}", data=b"{}", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def states(body: dict[str, Any]) -> dict[str, str]:
    return {name: s["model_version_status"][0]["state"] for name, s in body.items()}


class Serving:
    def __init__(self, folder: Path, ovms: Ports) -> None:
        self.config = folder / "config.json"
        self.grpc = f"127.0.0.1:{ovms.grpc}"
        self.rest = f"127.0.0.1:{ovms.http}"

    def write(self, *names: str) -> None:
        models = [{"config": {"name": n, "base_path": n}} for n in names]
        self.config.write_text(json.dumps({"model_config_list": models}))


def serve(*args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "ovtriton", "serve", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def serving(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serving]:
    folder = tmp_path_factory.mktemp("reload")
    for name in ("keep", "gone", "added"):
        save(two_input_model(), folder / name / "1")
    triton, ovms = Ports.free(), Ports.free()
    serving = Serving(folder, ovms)
    serving.write("keep", "gone")
    process = serve(
        "--config_path", str(serving.config), "--file_system_poll_wait_seconds", "0",
        "--port", str(ovms.grpc), "--rest_port", str(ovms.http), *triton.flags(),
        "--workdir", str(folder / "work"),
    )  # fmt: skip
    try:
        read_until(process, "Press Ctrl-C to stop")
        yield serving
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_reload_answers_as_ovms_and_shows_a_removed_model_as_end(serving: Serving) -> None:
    status, body = post(serving.rest, "/v1/config/reload")
    assert (status, states(body)) == (200, {"keep": "AVAILABLE", "gone": "AVAILABLE"})

    serving.write("keep", "added")
    status, body = post(serving.rest, "/v1/config/reload")
    assert status == 201, body
    assert states(body) == {"keep": "AVAILABLE", "gone": "END", "added": "AVAILABLE"}
    assert body["gone"]["model_version_status"] == [{"version": "1", "state": "END", "status": OK}]
    grpc_client = ovmsclient.make_grpc_client(serving.grpc)
    assert grpc_client.get_model_status("gone") == {  # ovmsclient's gRPC: the code's number
        1: {"state": "END", "error_code": 0, "error_message": "OK"}
    }
    assert ovmsclient.make_http_client(serving.rest).get_model_status("gone")[1]["state"] == "END"
    ones = np.ones((1, 3), np.float32)
    assert grpc_client.predict({"a": ones, "b": ones}, "added")["sum"].tolist() == [[2.0] * 3]
    with pytest.raises(ovmsclient.ModelNotFoundError):
        grpc_client.predict({"a": ones, "b": ones}, "gone")

    serving.write("keep", "gone")  # back again: AVAILABLE, no longer END
    assert post(serving.rest, "/v1/config/reload")[0] == 201
    assert grpc_client.get_model_status("gone")[1]["state"] == "AVAILABLE"


def test_an_invalid_config_is_refused_and_the_models_keep_serving(serving: Serving) -> None:
    serving.write("keep", "gone")
    post(serving.rest, "/v1/config/reload")
    serving.config.write_text('{"model_config_list": [{"config": {"name": "keep"}}]}')
    status, body = post(serving.rest, "/v1/config/reload")
    assert status == 500
    assert body["error"].startswith("Reloading config file failed.")
    assert "base_path" in body["error"]  # the converter's problem, with its JSON path
    ones = np.ones((1, 3), np.float32)
    client = ovmsclient.make_grpc_client(serving.grpc)
    assert client.predict({"a": ones, "b": ones}, "keep")["prod"].tolist() == [[1.0] * 3]
    serving.write("keep", "gone")
    assert post(serving.rest, "/v1/config/reload")[0] == 200  # the running config again


def test_latency_summaries_are_on_and_reach_the_rest_port(serving: Serving) -> None:
    ones = np.ones((1, 3), np.float32)
    client = ovmsclient.make_grpc_client(serving.grpc)
    for _ in range(3):
        client.predict({"a": ones, "b": ones}, "keep")
    with urllib.request.urlopen(f"http://{serving.rest}/metrics", timeout=30) as answer:
        metrics = answer.read().decode()
    for family in ("request", "queue", "compute_infer"):
        assert re.search(
            rf'^nv_inference_{family}_summary_us\{{[^}}]*model="keep"[^}}]*quantile="0.5"\}} \d',
            metrics,
            re.MULTILINE,
        ), family
        assert re.search(
            rf'^nv_inference_{family}_summary_us_count\{{[^}}]*model="keep"[^}}]*\}} [1-9]',
            metrics,
            re.MULTILINE,
        ), family


def test_reload_of_a_triton_repository_is_501_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    triton, ovms = Ports.free(), Ports.free()
    process = serve(
        "--model-repository", str(tmp_path / "repo"), "--rest_port", str(ovms.http),
        *triton.flags(), "--workdir", str(tmp_path / "work"),
    )  # fmt: skip
    try:
        read_until(process, "Press Ctrl-C to stop")
        status, body = post(f"127.0.0.1:{ovms.http}", "/v1/config/reload")
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert status == 501
    assert "Triton model repository" in body["error"] and "--config_path" in body["error"]


def metric(rest: str, line_start: str) -> float:
    with urllib.request.urlopen(f"http://{rest}/metrics", timeout=30) as answer:
        rows = [r for r in answer.read().decode().splitlines() if r.startswith(line_start)]
    assert len(rows) == 1, (line_start, rows)
    return float(rows[0].split()[-1])


def test_success_counts_survive_a_model_reload(serving: Serving) -> None:
    serving.write("keep", "gone")
    post(serving.rest, "/v1/config/reload")
    client = ovmsclient.make_grpc_client(serving.grpc)
    ones = np.ones((1, 3), np.float32)
    for _ in range(3):
        client.predict({"a": ones, "b": ones}, "gone")
    labels = '{model="gone",version="1"}'
    before = metric(serving.rest, f"nv_inference_request_success_across_reloads{labels}")
    assert before >= 3
    serving.write("keep")  # unloaded, then loaded again: Triton's own counter restarts at 0
    assert post(serving.rest, "/v1/config/reload")[0] == 201
    # Triton finishes an unload after answering it: load again only once "gone" is gone.
    deadline = time.monotonic() + 60
    while triton_ready(serving.rest, "gone"):
        assert time.monotonic() < deadline, "Triton kept the unloaded model ready"
        time.sleep(0.1)  # a pause between polls
    serving.write("keep", "gone")
    assert post(serving.rest, "/v1/config/reload")[0] == 201
    client.predict({"a": ones, "b": ones}, "gone")
    assert metric(serving.rest, f"nv_inference_request_success{labels}") == 1
    assert metric(serving.rest, f"nv_inference_request_success_across_reloads{labels}") == (
        before + 1
    )


def triton_ready(rest: str, model: str) -> bool:
    """Whether Triton (through the front's /v2) says ``model`` is ready."""
    try:
        with urllib.request.urlopen(f"http://{rest}/v2/models/{model}/ready", timeout=10) as r:
            return r.status == 200
    except urllib.error.HTTPError:
        return False
