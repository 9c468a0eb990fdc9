"""Issue 19: serve supervises tritonserver, and nothing outlives serve.

- tritonserver SIGKILLed under load (requests through the TFS front, `--watch` on): serve logs
  the signal, readiness is false meanwhile (the front answers 503 / UNAVAILABLE), tritonserver
  comes back with a new `--id`, the front and `--watch` follow it, and the only failed requests
  are those around the kill.
- `kill -9` of serve under load: tritonserver, every stub and the sentinel are gone; a new
  serve on the same `--workdir` starts and stops cleanly.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil
import pytest

from ovtriton.client import Client
from ovtriton.server import guard
from ovtriton.server.ports import Ports
from ovtriton.server.triton_admin import TritonAdmin
from tests.integration.test_serve_cli import read_until
from tests.models import save, scale_model

pytestmark = pytest.mark.integration

X = np.arange(4, dtype=np.float32).reshape(1, 4)


@dataclass
class Served:
    process: subprocess.Popen
    folder: Path
    triton: Ports
    ovms: Ports

    @property
    def front_grpc(self) -> str:
        return f"127.0.0.1:{self.ovms.grpc}"

    @property
    def front_rest(self) -> str:
        return f"127.0.0.1:{self.ovms.http}"

    def tritonserver(self) -> psutil.Process:
        [server] = [
            p for p in psutil.Process(self.process.pid).children() if p.name() == "tritonserver"
        ]
        return server


def write_config(folder: Path, *names: str) -> None:
    models = [{"config": {"name": n, "base_path": str(folder / n)}} for n in names]
    (folder / "config.json").write_text(json.dumps({"model_config_list": models}))


def start(folder: Path, triton: Ports, ovms: Ports) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "ovtriton", "serve", "--config_path", str(folder / "config.json"),
        "--file_system_poll_wait_seconds", "1", "--port", str(ovms.grpc),
        "--rest_port", str(ovms.http), *triton.flags(), "--workdir", str(folder / "work"),
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    for name, factor in (("scale", 2.0), ("other", 3.0)):
        save(scale_model((1, 4), factor=factor), tmp_path / name / "1")
    write_config(tmp_path, "scale")
    triton, ovms = Ports.free(), Ports.free()
    process = start(tmp_path, triton, ovms)
    try:
        read_until(process, "Press Ctrl-C to stop")
        yield Served(process, tmp_path, triton, ovms)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Load:
    """Threads inferring 'scale' through the front; each outcome recorded with its time."""

    def __init__(self, url: str, threads: int = 2) -> None:
        self.url = url
        self.ok: list[tuple[float, float]] = []  # when each successful request started, ended
        self.failed: list[tuple[float, str]] = []  # when each failed request started, why
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in self._threads), "a client thread hung"

    def wait_ok(self, more: int, limit: float = 120.0) -> None:
        with self._cond:
            target = len(self.ok) + more
            if not self._cond.wait_for(lambda: len(self.ok) >= target, timeout=limit):
                raise AssertionError(f"{len(self.ok)} ok; failures {self.failed[-3:]}")

    def _loop(self) -> None:
        client = Client(self.url, "grpc", timeout=60)  # one client per thread
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                out = client.infer("scale", {"INPUT/x:0": X})["out.y"]
                error = "" if np.array_equal(out, 2 * X) else f"wrong answer {out}"
            except Exception as exc:  # UNAVAILABLE while tritonserver is down
                error = str(exc)[:200] or type(exc).__name__
            with self._cond:
                if error:
                    self.failed.append((started, error))
                else:
                    self.ok.append((started, time.monotonic()))
                    self._cond.notify_all()
            if error:
                self._stop.wait(0.1)  # do not spin while the server is down


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def test_sigkill_of_tritonserver_under_load_restarts_it_and_the_front_follows(
    served: Served,
) -> None:
    old = served.tritonserver()
    old_id = TritonAdmin(f"127.0.0.1:{served.triton.http}").server_name()
    with Load(served.front_grpc) as load:
        load.wait_ok(20)
        old.kill()
        killed = time.monotonic()
        old.wait(timeout=60)  # gone once serve reaped it: its restart waits 1 s from then
        dead = time.monotonic()
        # Readiness is false until the new tritonserver is up: the front says so.
        assert http_status(f"http://{served.front_rest}/v2/health/ready") == 503
        output = read_until(served.process, "tritonserver is back")
        load.wait_ok(20)
        back = time.monotonic()
    assert f"tritonserver (pid {old.pid}) died: killed by SIGKILL" in output
    took = float(re.search(r"healthy ([\d.]+) s after its restart", output).group(1))
    new_id = TritonAdmin(f"127.0.0.1:{served.triton.http}").server_name()
    assert new_id and new_id != old_id and new_id.startswith(f"ovtriton-{served.process.pid}-")
    # Failures only of requests started while no tritonserver ran (or in flight at the kill):
    # none started after the first success again.
    first_ok_after = min(end for start, end in load.ok if start > dead)
    assert all(killed - 60 <= t <= first_ok_after for t, _ in load.failed), load.failed[-3:]
    assert [end for _, end in load.ok if first_ok_after < end < back]  # it serves on
    # The old stubs (orphaned, adopted by serve as subreaper) were killed and reaped.
    zombies = [
        p for p in psutil.Process(served.process.pid).children()
        if p.status() == psutil.STATUS_ZOMBIE
    ]  # fmt: skip
    assert zombies == []
    # --watch follows the new process: a new model is loaded into it.
    save_time = time.monotonic()
    write_config(served.folder, "scale", "other")
    read_until(served.process, "loading other")
    read_until(served.process, "READY")  # the models' report after the reload
    client = Client(served.front_grpc, "grpc", timeout=60)
    out = client.infer("other", {"INPUT/x:0": X})["out.y"]
    assert np.array_equal(out, 3 * X)
    print("failures:", sorted({e[:90] for _, e in load.failed}))
    print(
        f"tritonserver healthy {took:.1f} s after its restart, first request served "
        f"{first_ok_after - killed:.1f} s after the kill; {len(load.failed)} failed requests; "
        f"--watch applied a change {time.monotonic() - save_time:.1f} s after the write"
    )


def family(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def test_kill_9_of_serve_under_load_leaves_nothing_and_the_same_workdir_serves_again(
    served: Served,
) -> None:
    members = family(served.process.pid)
    names = sorted(p.name() for p in members)
    assert "tritonserver" in names and "sh" in names, names
    assert any(n.startswith("triton_python_b") for n in names), names
    # As where pid 1 does not reap (a container without an init): this test process adopts
    # serve's orphans and leaves tritonserver a zombie while the stubs are checked.
    guard.become_subreaper()
    with Load(served.front_grpc) as load:
        load.wait_ok(20)
        served.process.kill()
        served.process.wait()
    others = [p for p in members if p.name() != "tritonserver"]
    _, alive = psutil.wait_procs(others, timeout=30)
    assert alive == [], f"still running 30 s after kill -9 of serve: {alive}"
    _, alive = psutil.wait_procs(members, timeout=30)  # reaps the adopted ones
    assert alive == [], f"still running 30 s after kill -9 of serve: {alive}"
    guard.check_ports_free("127.0.0.1", served.triton.named())
    successor = start(served.folder, served.triton, served.ovms)
    try:
        read_until(successor, "Press Ctrl-C to stop")
        client = Client(served.front_grpc, "grpc", timeout=60)
        assert np.array_equal(client.infer("scale", {"INPUT/x:0": X})["out.y"], 2 * X)
        successor.send_signal(signal.SIGTERM)
        assert successor.wait(timeout=60) == 0
    finally:
        if successor.poll() is None:
            successor.kill()
            successor.wait()


def post_reload(rest: str) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://{rest}/v1/config/reload", data=b"{}", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=300) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_30_concurrent_reloads_and_a_watched_edit_all_get_an_answer(served: Served) -> None:
    """Issue 19 finding 2: the REST reload and --watch used to share one gevent client and
    crash serve ("Cannot switch to a different thread")."""
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()
    go = threading.Event()

    def caller() -> None:
        go.wait()
        answer = post_reload(served.front_rest)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=caller) for _ in range(30)]
    for thread in threads:
        thread.start()
    with Load(served.front_grpc) as load:
        load.wait_ok(5)
        write_config(served.folder, "scale", "other")  # for --watch and the callers alike
        go.set()
        for thread in threads:
            thread.join(timeout=600)
        load.wait_ok(5)
    assert not any(t.is_alive() for t in threads)
    assert len(answers) == 30
    statuses = sorted(status for status, _ in answers)
    assert set(statuses) <= {200, 201, 503}, answers
    for status, body in answers:
        if status == 503:
            assert body == {"error": "a config reload is in progress; try again when it is done"}
        else:
            assert set(body) == {"scale", "other"}, body  # the config status, both models
    assert served.process.poll() is None
    assert load.failed == []
    # Applied once, by whichever came first: now nothing changes.
    assert post_reload(served.front_rest)[0] == 200
    out = Client(served.front_grpc, "grpc", timeout=60).infer("other", {"INPUT/x:0": X})
    assert np.array_equal(out["out.y"], 3 * X)
    print(f"30 concurrent reloads + a watched edit: statuses {statuses}")
