"""Ports, identity, parent-death and leftovers: what keeps serve to its own server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from ovtriton.errors import UserError
from ovtriton.server import guard
from ovtriton.server.triton_admin import TritonAdmin
from ovtriton.server.ports import Ports


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not psutil.pid_exists(child.pid)
    return child.pid


def test_free_ports_pass() -> None:
    guard.check_ports_free("127.0.0.1", Ports.free().named())


def test_a_busy_port_is_named_with_its_holder() -> None:
    ports = Ports.free()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", ports.grpc))
        busy.listen()
        with pytest.raises(UserError) as caught:
            guard.check_ports_free("127.0.0.1", ports.named())
    message = str(caught.value)
    assert f"gRPC port {ports.grpc} on 127.0.0.1 is already in use by " in message
    assert f"(pid {os.getpid()})" in message and "--grpc-port" in message


def test_a_port_bound_but_not_listening_is_busy_too() -> None:
    ports = Ports.free()
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", ports.metrics))
        with pytest.raises(UserError, match=f"metrics port {ports.metrics} .* already in use"):
            guard.check_ports_free("127.0.0.1", ports.named())


def test_leftovers_of_dead_pids_go_and_those_of_live_pids_stay(tmp_path: Path) -> None:
    shm, tmp = tmp_path / "shm", tmp_path / "tmp"
    shm.mkdir()
    tmp.mkdir()
    gone, alive = dead_pid(), os.getpid()
    stale = [
        shm / f"ovtriton{gone}_8000_abc",
        tmp / f"ovtriton-{gone}-x1",
        tmp / f"ovtriton-serve-{gone}-y",
    ]
    kept = [
        shm / f"ovtriton{alive}_8000_abc",
        tmp / f"ovtriton-{alive}-x2",
        tmp / "ovtriton-abcdefg",  # an unmarked folder (older ovtriton): not ours to judge
        shm / "other_region",
    ]
    for path in stale + kept:
        if path.parent == tmp:
            (path / "backends").mkdir(parents=True)
        else:
            path.write_bytes(b"x")
    removed = guard.remove_leftovers(shm, tmp)
    assert sorted(removed) == sorted(stale)
    assert all(not p.exists() for p in stale) and all(p.exists() for p in kept)


def test_a_child_with_die_with_parent_dies_with_the_parent() -> None:
    """The parent (a Python process) starts `sleep` with the preexec_fn, then is SIGKILLed."""
    code = (
        "import subprocess, sys; from ovtriton.server import guard; "
        "p = subprocess.Popen(['sleep', '600'], preexec_fn=guard.die_with_parent); "
        "print(p.pid, flush=True); sys.stdin.read()"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = psutil.Process(int(parent.stdout.readline()))
    assert child.is_running()
    parent.kill()
    parent.wait()
    child.wait(timeout=10)  # psutil.TimeoutExpired if it outlived its parent
    assert not child.is_running()


def test_verify_tells_another_server_from_no_server() -> None:
    with pytest.raises(ConnectionError, match="no server answers"):
        TritonAdmin(f"127.0.0.1:{Ports.free().http}").verify("ovtriton-1-x")


def test_server_ids_are_unique_per_start_and_carry_the_pid() -> None:
    first, second = guard.new_server_id(), guard.new_server_id()
    assert first != second and first.startswith(f"ovtriton-{os.getpid()}-")


def test_verify_refuses_a_server_with_another_name() -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Other(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"name": "someone-else", "version": "2.51.0"}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with HTTPServer(("127.0.0.1", 0), Other) as other:
        threading.Thread(target=other.serve_forever, daemon=True).start()
        url = f"127.0.0.1:{other.server_address[1]}"
        TritonAdmin(url).verify("someone-else")
        with pytest.raises(UserError, match=f"the server answering on {url} is 'someone-else', "):
            TritonAdmin(url).verify("ovtriton-1-x")
        other.shutdown()


def test_the_sentinel_kills_the_watched_group_when_its_starter_is_killed() -> None:
    """kill -9 of the process that started the sentinel: the group it watched is SIGKILLed."""
    code = (
        "import subprocess, sys\n"
        "from ovtriton.server import guard\n"
        "sentinel = guard.Sentinel.start()\n"
        "group = subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
        "sentinel.watch(group.pid)\n"
        "print(group.pid, sentinel.process.pid, flush=True)\n"
        "sys.stdin.readline()\n"
    )
    starter = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert starter.stdout is not None
    group_pid, sentinel_pid = map(int, starter.stdout.readline().split())
    watched, sentinel = psutil.Process(group_pid), psutil.Process(sentinel_pid)
    assert watched.is_running() and sentinel.is_running()
    starter.kill()
    starter.wait()
    _, alive = psutil.wait_procs([watched, sentinel], timeout=30)
    assert alive == []


def test_a_closed_sentinel_kills_nothing() -> None:
    group = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        sentinel = guard.Sentinel.start()
        sentinel.watch(group.pid)
        sentinel.watch(0)  # the owner stopped it itself
        sentinel.close()
        assert sentinel.process.returncode == 0 and group.poll() is None
    finally:
        group.kill()
        group.wait()
