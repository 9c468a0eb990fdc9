"""`ovtriton serve --config CONFIG --watch`: convert, serve, follow changes, survive a bad edit."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from ovtriton.server.process import Ports
from tests.models import save, scale_model

X = np.arange(4, dtype=np.float32).reshape(1, 4)


def ovms_config(policy: dict, node_version: int | None) -> dict:
    node = {
        "name": "scale_node",
        "model_name": "scale",
        "type": "DL model",
        "inputs": [{"INPUT/x:0": {"node_name": "request", "data_item": "x"}}],
        "outputs": [{"data_item": "out.y", "alias": "y"}],
    }
    if node_version is not None:
        node["version"] = node_version
    return {
        "model_config_list": [
            {
                "config": {
                    "name": "scale",
                    "base_path": "models/scale",
                    "model_version_policy": policy,
                }
            }
        ],
        "pipeline_config_list": [
            {
                "name": "pipe",
                "inputs": ["x"],
                "nodes": [node],
                "outputs": [{"y": {"node_name": "scale_node", "data_item": "y"}}],
            }
        ],
    }


class Output:
    """Collects a subprocess's output lines on a thread, so the test can wait for one."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line)

    def text(self) -> str:
        return "".join(self.lines)


def eventually(check: Callable[[], bool], what: str, output: Output, limit: float = 120) -> None:
    """Poll ``check`` until true; only "not there yet" errors (a model still loading, a
    connection refused) are retried, anything else fails the test at once."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (InferenceServerException, ConnectionError):
            pass
        time.sleep(0.25)
    raise AssertionError(f"never happened: {what}\noutput:\n{output.text()}")


def pipeline_result(client: httpclient.InferenceServerClient) -> np.ndarray:
    tensor = httpclient.InferInput("x", list(X.shape), "FP32")
    tensor.set_data_from_numpy(X)
    return client.infer("pipe", [tensor]).as_numpy("y")


def start_watch(config: Path, ports: Ports, workdir: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "ovtriton", "serve", "--config", str(config), "--watch"]
    return subprocess.Popen(
        [*command, "--poll-seconds", "0.3", *ports.flags(), "--workdir", str(workdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_watch_reloads_changes_and_keeps_serving_through_a_bad_config(tmp_path: Path) -> None:
    for version, factor in ((1, 2.0), (2, 3.0)):
        save(scale_model((1, 4), factor=factor), tmp_path / "models" / "scale" / str(version))
    config = tmp_path / "config.json"
    config.write_text(json.dumps(ovms_config({"latest": {"num_versions": 1}}, None)))
    ports = Ports.free()
    process = start_watch(config, ports, tmp_path / "work")
    output = Output(process)
    try:
        eventually(lambda: "Press Ctrl-C to stop" in output.text(), "server up", output, 240)
        client = httpclient.InferenceServerClient(f"127.0.0.1:{ports.http}")
        assert client.is_model_ready("scale", "2") and not client.is_model_ready("scale", "1")
        np.testing.assert_allclose(pipeline_result(client), 3 * X)  # latest version: factor 3

        # Serve every version and pin the pipeline to version 1.
        config.write_text(json.dumps(ovms_config({"all": {}}, 1)))
        eventually(lambda: client.is_model_ready("scale", "1"), "version 1 loaded", output)
        eventually(lambda: np.allclose(pipeline_result(client), 2 * X), "pipeline on v1", output)
        assert client.is_model_ready("scale", "2")

        # A new version folder is picked up without touching the config (as OVMS rescans). It
        # is written elsewhere and moved into place, so the watcher never sees half a model.
        save(scale_model((1, 4), factor=5.0), tmp_path / "staging" / "3")
        (tmp_path / "staging" / "3").rename(tmp_path / "models" / "scale" / "3")
        eventually(lambda: client.is_model_ready("scale", "3"), "version 3 loaded", output)
        np.testing.assert_allclose(pipeline_result(client), 2 * X)  # still pinned to v1

        # A broken config is reported; what was loaded keeps serving.
        config.write_text('{"model_config_list": [ {"config": {"name": "scale", "bogus": 1}} ]}')
        eventually(lambda: "the new config is invalid" in output.text(), "error reported", output)
        assert "bogus" in output.text()
        np.testing.assert_allclose(pipeline_result(client), 2 * X)
        assert client.is_model_ready("scale", "1") and client.is_model_ready("scale", "2")
        client.close()

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=90) == 0, output.text()
    finally:
        if process.poll() is None:
            process.kill()


def test_watch_without_config_is_a_user_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ovtriton", "serve", "--model-repository", str(tmp_path), "--watch"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "--watch needs --config" in result.stderr


def test_serve_config_with_an_invalid_config_writes_nothing_and_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"model_config_list": [{"config": {"name": "m", "base_path": "nope"}}]}')
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ovtriton",
            "serve",
            "--config",
            str(config),
            "--workdir",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "model_config_list[0].config.base_path" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "work" / "repository").exists()


class ScaleLoad:
    """One thread sending requests to the composing model 'scale' until stopped."""

    def __init__(self, url: str) -> None:
        self.ok, self.failed = 0, []
        self._client = httpclient.InferenceServerClient(url)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        tensor = httpclient.InferInput("INPUT/x:0", list(X.shape), "FP32")
        tensor.set_data_from_numpy(X)
        while not self._stop.is_set():
            try:
                result = self._client.infer("scale", [tensor]).as_numpy("out.y")
                assert result is not None and np.array_equal(result, 3 * X)
                self.ok += 1
            except (InferenceServerException, AssertionError, ConnectionError) as exc:
                self.failed.append(repr(exc))

    def __enter__(self) -> ScaleLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def stub_pids(serve_pid: int) -> list[int]:
    import psutil

    family = psutil.Process(serve_pid).children(recursive=True)
    return sorted(p.pid for p in family if p.name() == "triton_python_backend_stub")


def test_watch_survives_config_churn_and_reloads_only_a_changed_pipeline(tmp_path: Path) -> None:
    save(scale_model((1, 4), factor=3.0), tmp_path / "models" / "scale" / "1")
    config = tmp_path / "config.json"
    good = ovms_config({"latest": {"num_versions": 1}}, None)
    config.write_text(json.dumps(good))
    ports = Ports.free()
    process = start_watch(config, ports, tmp_path / "work")
    output = Output(process)
    try:
        eventually(lambda: "Press Ctrl-C to stop" in output.text(), "server up", output, 240)
        client = httpclient.InferenceServerClient(f"127.0.0.1:{ports.http}")
        stubs = stub_pids(process.pid)
        assert len(stubs) == 1, stubs
        with ScaleLoad(f"127.0.0.1:{ports.http}") as load:
            # config.json absent for 5 s (an editor's or a ConfigMap's replace): serving on.
            hidden = config.rename(tmp_path / "config.json.away")
            eventually(lambda: "cannot read" in output.text(), "missing config logged", output)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                assert process.poll() is None, output.text()
                time.sleep(0.5)
            hidden.rename(config)
            # A truncated write: reported, the models keep serving.
            text = json.dumps(good)
            config.write_text(text[: len(text) // 2])
            eventually(lambda: "not valid JSON" in output.text(), "truncated config logged", output)
            # A change to the pipeline only: the composing model is not reloaded.
            changed = json.loads(text)
            changed["pipeline_config_list"][0]["outputs"] = [
                {"renamed": {"node_name": "scale_node", "data_item": "y"}}
            ]
            config.write_text(json.dumps(changed))
            eventually(
                lambda: client.get_model_metadata("pipe")["outputs"][0]["name"] == "renamed",
                "pipeline reloaded",
                output,
            )
            ok_before = load.ok
            eventually(lambda: load.ok > ok_before + 10, "requests after the reload", output)
        assert load.failed == [], load.failed[:3]
        assert load.ok > 0
        assert stub_pids(process.pid) == stubs, "the composing model 'scale' was reloaded"
        assert "loading pipe" in output.text() and "loading scale" not in output.text()
        client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=90) == 0, output.text()
    finally:
        if process.poll() is None:
            process.kill()
