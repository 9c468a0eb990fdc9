"""`ovtriton serve` as a user runs it: a subprocess, Ctrl-C/SIGTERM, no orphans."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from ovtriton.server.process import Ports
from tests.integration.clients import Client
from tests.models import scale_model
from tests.repository import add_model


def processes_using(path: Path) -> list[str]:
    """Command lines of live processes that mention ``path`` (tritonserver, its stubs)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        if str(path) in cmdline or str(path) in exe:
            found.append(f"{pid}: {cmdline}")
    return found


def start_serve(repo: Path, workdir: Path, ports: Ports, *extra: str) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "ovtriton",
        "serve",
        "--model-repository",
        str(repo),
        *ports.flags(),
        "--workdir",
        str(workdir),
        *extra,
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def read_until(process: subprocess.Popen, marker: str, limit: float = 180) -> str:
    seen = []
    deadline = time.monotonic() + limit
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    process.kill()
    raise AssertionError(f"{marker!r} never printed; output:\n{''.join(seen)}")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_serve_answers_then_stops_cleanly_without_orphans(tmp_path: Path, stop_signal: int) -> None:
    repo = tmp_path / "repo"
    add_model(repo, "scale", scale_model((1, 4)), max_batch_size=4, dynamic_batching=True)
    workdir, ports = tmp_path / "work", Ports.free()
    process = start_serve(repo, workdir, ports, "--", "--id=ovtriton-under-test")
    try:
        output = read_until(process, "Press Ctrl-C to stop")
        assert f"HTTP http://127.0.0.1:{ports.http}" in output
        assert f"gRPC 127.0.0.1:{ports.grpc}" in output
        assert "scale" in output and "READY" in output
        with urllib.request.urlopen(f"http://127.0.0.1:{ports.http}/v2") as response:
            assert json.loads(response.read())["name"] == "ovtriton-under-test"  # passed through
        assert processes_using(workdir), "tritonserver should be running from the workdir"

        class _Server:  # the two URLs are all Client needs
            http_url = f"127.0.0.1:{ports.http}"
            grpc_url = f"127.0.0.1:{ports.grpc}"

        x = np.ones((1, 4), np.float32)
        for protocol in ("http", "grpc"):
            np.testing.assert_allclose(
                Client(_Server(), protocol).infer("scale", {"INPUT/x:0": x})["out.y"], 2 * x
            )
        process.send_signal(stop_signal)
        assert process.wait(timeout=60) == 0
        rest = process.stdout.read() if process.stdout else ""
        assert "tritonserver stopped" in rest
        assert processes_using(workdir) == []
    finally:
        if process.poll() is None:
            process.kill()


def test_serve_reports_a_busy_port_as_a_user_error(tmp_path: Path) -> None:
    import socket

    repo = tmp_path / "repo"
    add_model(repo, "scale", scale_model((1, 4)), max_batch_size=4)
    ports = Ports.free()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", ports.grpc))
        busy.listen()
        process = start_serve(repo, tmp_path / "work", ports)
        output, _ = process.communicate(timeout=180)
    assert process.returncode == 1, output
    assert "tritonserver exited with code" in output
    assert "Traceback" not in output


def test_serve_refuses_a_missing_repository(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ovtriton", "serve", "--model-repository", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "is not a directory" in result.stderr


def test_serve_without_repository_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ovtriton", "serve"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "--model-repository" in result.stderr
