"""`ovtriton serve` as a user runs it: a subprocess, Ctrl-C/SIGTERM, no orphans."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
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


@pytest.mark.parametrize("which", ["http", "grpc", "metrics"])
def test_serve_refuses_a_busy_port_before_starting_anything_naming_it_and_its_holder(
    tmp_path: Path, which: str
) -> None:
    """Any listener (here a plain socket, not a Triton) on one of the ports: exit 1 before
    anything is laid out or started (no backend folder, no tritonserver)."""
    import socket

    repo = tmp_path / "repo"
    add_model(repo, "scale", scale_model((1, 4)), max_batch_size=4)
    ports = Ports.free()
    busy_port = getattr(ports, which)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", busy_port))
        busy.listen()
        process = start_serve(repo, tmp_path / "work", ports)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 1, output
    assert f"port {busy_port} on 127.0.0.1 is already in use" in output
    assert f"(pid {os.getpid()})" in output  # psutil names this test's process as the holder
    assert f"--{which}-port" in output
    assert "Traceback" not in output
    assert processes_using(tmp_path / "work") == []
    assert not (tmp_path / "work" / "backends").exists()  # stopped before laying anything out


def test_operator_restriction_flags_after_dashdash_keep_serve_working(tmp_path: Path) -> None:
    """The operator restricts the repository API with a key of their own; serve's own calls use
    it, and ovtriton's key still guards what the operator left open (shared memory, ...)."""
    repo = tmp_path / "repo"
    add_model(repo, "scale", scale_model((1, 4)), max_batch_size=4)
    workdir, ports = tmp_path / "work", Ports.free()
    restricted = "--http-restricted-api=model-repository:operator-key=s3cret"
    process = start_serve(repo, workdir, ports, "--", restricted)
    try:
        output = read_until(process, "Press Ctrl-C to stop")
        assert "scale" in output and "READY" in output  # the repository index was readable
        index = f"http://127.0.0.1:{ports.http}/v2/repository/index"

        def post(url: str, headers: dict[str, str], method: str = "POST") -> int:
            data = b"{}" if method == "POST" else None
            request = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status
            except urllib.error.HTTPError as exc:
                return exc.code

        assert post(index, {}) == 403
        assert post(index, {"operator-key": "s3cret"}) == 200
        key = (workdir / "admin-key").read_text().strip()
        shm_status = f"http://127.0.0.1:{ports.http}/v2/systemsharedmemory/status"
        assert post(shm_status, {}, "GET") == 403
        assert post(shm_status, {"ovtriton-admin-key": key}, "GET") == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_serve_refuses_a_port_out_of_range_as_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ovtriton", "serve", "--model-repository", str(tmp_path)]
        + ["--http-port", "99999"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "99999 is not a port number (1-65535)" in result.stderr
    assert "Traceback" not in result.stderr


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
