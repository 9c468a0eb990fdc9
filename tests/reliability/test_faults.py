"""Faults under load: a killed stub process, and `ovtriton serve` stopped by SIGTERM.

Issue #6. The stub is killed with SIGKILL while requests are in flight: those requests fail
with Triton's "Stub process ... is not healthy" error, the server's stub watchdog reloads the
model (Triton 2.51 itself never restarts a dead stub) and it serves again within a bounded
time; the other model never notices. SIGTERM under load: `ovtriton serve` exits 0 with no
process and no /dev/shm file of its own left behind.
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from tritonclient.utils import InferenceServerException

from ovtriton.server.process import SHM_DIR, Ports, TritonServer
from ovtriton.server.stubs import live_stubs
from tests.integration.clients import Client
from tests.integration.test_serve_cli import processes_using, read_until, start_serve
from tests.models import scale_model, two_input_model
from tests.repository import add_model

pytestmark = pytest.mark.integration

REVIVE_WITHIN = 60.0  # seconds: bounded wait for the model to serve again
X = np.arange(4, dtype=np.float32).reshape(1, 4)
A = np.ones((1, 3), np.float32)


def build(repo: Path) -> Path:
    add_model(repo, "scale", scale_model((1, 4)), max_batch_size=8, dynamic_batching=True)
    add_model(repo, "two", two_input_model(), max_batch_size=0)
    return repo


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    repo = build(tmp_path_factory.mktemp("repo"))
    with TritonServer(repo, ports=Ports.free(), workdir=tmp_path_factory.mktemp("work")) as running:
        yield running


def stub_pids(server_pid: int, model: str) -> list[int]:
    """Live stub processes of ``model``, found by parent pid and command line."""
    pids = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            stat = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if (
            int(stat[1]) == server_pid
            and stat[0] != "Z"
            and argv[0].endswith(b"triton_python_backend_stub")
            and f"/{model}/1/model.py".encode() in argv[1]
        ):
            pids.append(int(entry))
    return pids


class Load:
    """Threads sending one request after another until stopped; every outcome is recorded."""

    def __init__(self, make_call: Callable[[], Callable[[], None]], threads: int) -> None:
        self.ok = 0
        self.errors: list[str] = []
        self.wrong = 0
        self._make, self._stop = make_call, threading.Event()
        self._lock = threading.Condition()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in self._threads), "a client thread hung"

    def wait_ok(self, more: int = 20, limit: float = 60.0) -> None:
        """Block until ``more`` further requests succeeded (the load really runs)."""
        with self._lock:
            target = self.ok + more
            if not self._lock.wait_for(lambda: self.ok >= target, timeout=limit):
                raise AssertionError(f"only {self.ok} requests succeeded; errors {self.errors[:3]}")

    def _loop(self) -> None:
        call = self._make()  # one client per thread: tritonclient's HTTP client is not thread-safe
        while not self._stop.is_set():
            try:
                call()
                outcome = None
            except InferenceServerException as exc:
                outcome = exc.message()
            except AssertionError:
                outcome = "wrong"
            except Exception as exc:  # connection refused / reset while the server stops
                outcome = f"{type(exc).__name__}: {exc}"
            with self._lock:
                if outcome is None:
                    self.ok += 1
                    self._lock.notify_all()
                elif outcome == "wrong":
                    self.wrong += 1
                else:
                    self.errors.append(outcome)


def infer_scale(client: Client) -> Callable[[], None]:
    """One request to 'scale' whose answer is checked."""

    def call() -> None:
        out = client.infer("scale", {"INPUT/x:0": X})["out.y"]
        assert np.array_equal(out, 2 * X)

    return call


def infer_two(client: Client) -> Callable[[], None]:
    def call() -> None:
        out = client.infer("two", {"a": A, "b": 2 * A})
        assert np.array_equal(out["sum"], 3 * A) and np.array_equal(out["prod"], 2 * A)

    return call


def wait_until_serving(client: Client, limit: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        try:
            infer_scale(client)()
            return time.monotonic() - start
        except InferenceServerException:
            time.sleep(0.2)
    raise AssertionError(f"'scale' did not serve again within {limit:.0f} s")


@pytest.mark.parametrize("round_", [1, 2], ids=["first-kill", "second-kill"])
def test_killed_stub_fails_in_flight_requests_then_its_model_serves_again(
    server: TritonServer, round_: int
) -> None:
    grpc = Client(server, "grpc")
    victims = stub_pids(server.pid, "scale")
    others = stub_pids(server.pid, "two")
    assert len(victims) == 1 and len(others) == 1, (victims, others)
    with (
        Load(lambda: infer_scale(Client(server, "grpc")), 4) as scale_load,
        Load(lambda: infer_two(Client(server, "http")), 2) as two_load,
    ):
        scale_load.wait_ok()
        os.kill(victims[0], signal.SIGKILL)
        waited = wait_until_serving(grpc, REVIVE_WITHIN)
        two_load.wait_ok()  # the other model keeps serving while and after 'scale' comes back
        scale_load.wait_ok()
    assert scale_load.errors, "no request was in flight when the stub died"
    # In flight and until the watchdog notices: the dead stub; during the reload (unload, then
    # load): no version of 'scale'. Both name the model; nothing else may go wrong.
    dead, reloading = "Stub process 'scale_0_0' is not healthy", "'scale' has no available versions"
    assert any(dead in m for m in scale_load.errors), scale_load.errors[:5]
    for message in scale_load.errors:
        assert dead in message or reloading in message, message
    assert scale_load.wrong == 0 and two_load.wrong == 0
    assert two_load.errors == [] and two_load.ok > 0
    assert server.watchdog is not None and server.watchdog.revived.count("scale") == round_
    new = stub_pids(server.pid, "scale")
    assert len(new) == 1 and new[0] != victims[0]
    assert stub_pids(server.pid, "two") == others  # untouched
    assert server.is_ready() and {m.name: m.state for m in server.models()} == {
        "scale": "READY",
        "two": "READY",
    }
    for protocol in ("grpc", "http"):
        infer_scale(Client(server, protocol))()
    print(
        f"round {round_}: {len(scale_load.errors)} failed in flight, served again after {waited:.1f} s"
    )


def test_watchdog_counts_one_live_stub_per_instance(server: TritonServer) -> None:
    assert live_stubs(server.pid) == {("scale", "1"): 1, ("two", "1"): 1}


def shm_files(prefix: str) -> list[str]:
    return sorted(p.name for p in SHM_DIR.glob(f"{prefix}*"))


def test_serve_sigterm_under_load_drains_exits_0_and_leaves_no_process_or_shm(
    tmp_path: Path,
) -> None:
    repo = build(tmp_path / "repo")
    workdir, ports = tmp_path / "work", Ports.free()
    process = start_serve(repo, workdir, ports)
    prefix = f"ovtriton{process.pid}_{ports.http}_"
    try:
        read_until(process, "Press Ctrl-C to stop")

        class _Server:
            http_url = f"127.0.0.1:{ports.http}"
            grpc_url = f"127.0.0.1:{ports.grpc}"

        assert shm_files(prefix), "tritonserver's shared memory should be in /dev/shm"
        # HTTP clients keep their connection open: Triton then waits its whole exit timeout.
        with (
            Load(lambda: infer_scale(Client(_Server(), "grpc")), 4) as scale_load,
            Load(lambda: infer_two(Client(_Server(), "http")), 2) as two_load,
        ):
            scale_load.wait_ok()
            two_load.wait_ok()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=90) == 0  # a deadline against a hang, not a timing
        rest = process.stdout.read() if process.stdout else ""
        assert "tritonserver stopped" in rest and "Traceback" not in rest
        assert scale_load.wrong == 0 and two_load.wrong == 0  # no corrupt answer while stopping
        assert processes_using(workdir) == []
        assert shm_files(prefix) == []
    finally:
        if process.poll() is None:
            process.kill()


def test_ensemble_serves_again_after_a_composing_models_stub_dies(tmp_path: Path) -> None:
    from tests.reliability.bad_requests import write_ensemble

    repo = tmp_path / "repo"
    add_model(repo, "step", scale_model((-1, 4), input_name="x", output_name="y"))
    write_ensemble(repo / "pipe")  # OUT = step(step(IN)) = 4 * IN
    with TritonServer(repo, ports=Ports.free(), workdir=tmp_path / "work") as server:
        client = Client(server, "grpc", timeout=30)
        np.testing.assert_array_equal(client.infer("pipe", {"IN": X})["OUT"], 4 * X)
        (victim,) = stub_pids(server.pid, "step")
        os.kill(victim, signal.SIGKILL)
        deadline, answer = time.monotonic() + REVIVE_WITHIN, None
        while answer is None and time.monotonic() < deadline:
            try:
                answer = client.infer("pipe", {"IN": X})["OUT"]
            except InferenceServerException:
                time.sleep(0.2)
        assert answer is not None, "the ensemble did not serve again"
        np.testing.assert_array_equal(answer, 4 * X)
        assert server.watchdog is not None and server.watchdog.revived == ["step"]
        assert {m.name: m.state for m in server.models()} == {"pipe": "READY", "step": "READY"}


def test_a_second_serve_on_busy_ports_exits_1_and_the_first_server_never_notices(
    server: TritonServer,
) -> None:
    """The old failure: the second serve adopted the first server, unloaded and reloaded its
    models. Now it checks the ports first; the first server's clients see nothing."""
    repo = server.repository
    revived_before = list(server.watchdog.revived) if server.watchdog else []
    with (
        Load(lambda: infer_scale(Client(server, "grpc")), 2) as scale_load,
        Load(lambda: infer_two(Client(server, "http")), 2) as two_load,
    ):
        scale_load.wait_ok()
        started = time.monotonic()
        second = start_serve(repo, repo.parent / "second-work", server.ports)
        output, _ = second.communicate(timeout=60)
        took = time.monotonic() - started
        scale_load.wait_ok()
        two_load.wait_ok()
    assert second.returncode == 1, output
    assert f"HTTP port {server.ports.http} on 127.0.0.1 is already in use" in output
    assert f"by tritonserver (pid {server.pid})" in output
    assert "Traceback" not in output
    assert scale_load.errors == [] and two_load.errors == []
    assert scale_load.wrong == 0 and two_load.wrong == 0
    assert (server.watchdog.revived if server.watchdog else []) == revived_before
    print(f"second serve exited 1 after {took:.1f} s; first server: 0 failed requests")


def test_kill_9_of_serve_takes_its_server_along_and_the_next_serve_cleans_up(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    import psutil

    from ovtriton.server import guard

    repo = build(tmp_path / "repo")
    ports = Ports.free()
    command = [sys.executable, "-m", "ovtriton", "serve", "--model-repository", str(repo)]
    victim = subprocess.Popen(
        [*command, *ports.flags()], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        read_until(victim, "Press Ctrl-C to stop")
        family = psutil.Process(victim.pid).children(recursive=True)
        names = sorted(p.name() for p in family)
        assert "tritonserver" in names and names.count("triton_python_backend_stub") == 2, names
        victim.kill()
        victim.wait()
        killed = time.monotonic()
        gone, alive = psutil.wait_procs(family, timeout=10)
        assert alive == [], f"still running 10 s after kill -9 of serve: {alive}"
        assert not processes_using(repo)
        # Its ports are free again (the next check raises if not).
        guard.check_ports_free("127.0.0.1", ports.named())
        print(
            f"serve's tritonserver and stubs gone {time.monotonic() - killed:.1f} s after kill -9"
        )
    finally:
        if victim.poll() is None:
            victim.kill()
    leftovers = [*Path(tempfile.gettempdir()).glob(f"ovtriton-{victim.pid}-*")]
    assert len(leftovers) == 1, leftovers  # its temporary workdir (backend copy, log)
    # Its shared memory went with the stubs here; a region left by a killed server (as seen
    # when a stub cannot clean up) is stood in for by a file with the same mark.
    leftovers.append(SHM_DIR / f"ovtriton{victim.pid}_{ports.http}_region")
    leftovers[-1].write_bytes(b"\0" * 64)
    alive = SHM_DIR / f"ovtriton{os.getpid()}_1_not_a_leftover"  # a live pid: kept
    alive.write_bytes(b"\0" * 64)
    successor = start_serve(repo, tmp_path / "work", Ports.free())
    try:
        read_until(successor, "Press Ctrl-C to stop")
        assert [p for p in leftovers if p.exists()] == []
        assert alive.exists()
        successor.send_signal(signal.SIGTERM)
        assert successor.wait(timeout=60) == 0
    finally:
        alive.unlink(missing_ok=True)
        if successor.poll() is None:
            successor.kill()
