"""Finding a server's Python backend stubs and freeing the shared memory of dead ones.

The "stubs" here are real processes of this test named like Triton's stub, started with the
arguments tritonserver gives one (model.py path, shm region name)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ovtriton.server.stubs import SHM_DIR, STUB_NAME, StubWatchdog, live_stubs, stubs_of


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator:
    stub = tmp_path / STUB_NAME
    stub.symlink_to(sys.executable)
    started: list[subprocess.Popen] = []

    def start(model: str, version: str = "1") -> tuple[subprocess.Popen, Path]:
        model_py = tmp_path / "repo" / model / version / "model.py"
        model_py.parent.mkdir(parents=True, exist_ok=True)
        model_py.write_text("import sys\nsys.stdin.read()\n")
        region = SHM_DIR / f"ovtriton_unit_{uuid.uuid4()}"
        region.write_bytes(b"\0" * 4096)
        process = subprocess.Popen([str(stub), str(model_py), region.name], stdin=subprocess.PIPE)
        started.append(process)
        return process, region

    yield start
    for process in started:
        process.kill()
        process.wait()
    for region in SHM_DIR.glob("ovtriton_unit_*"):
        region.unlink(missing_ok=True)


def test_stubs_are_counted_per_model_and_version(spawn) -> None:
    spawn("a")
    spawn("a")
    spawn("b", "3")
    assert live_stubs(os.getpid()) == {("a", "1"): 2, ("b", "3"): 1}


def test_a_dead_stub_is_not_counted(spawn) -> None:
    first, _ = spawn("a")
    spawn("a")
    first.kill()
    first.wait()
    assert live_stubs(os.getpid()) == {("a", "1"): 1}


def test_stubs_of_a_process_that_is_gone_are_none() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert stubs_of(child.pid) == []


def test_the_watchdog_removes_the_region_of_a_dead_stub_only(spawn) -> None:
    victim, dead_region = spawn("a")
    _, live_region = spawn("b")
    watchdog = StubWatchdog(os.getpid(), "127.0.0.1:1")
    watchdog.track()
    assert watchdog.remove_dead_regions() == []  # nobody died yet
    victim.kill()
    victim.wait()
    assert watchdog.remove_dead_regions() == [dead_region]
    assert not dead_region.exists() and live_region.exists()
    assert watchdog.remove_dead_regions() == []  # forgotten once removed


def test_a_remote_models_stub_is_named_by_its_config(tmp_path: Path) -> None:
    from ovtriton.server.stubs import model_name

    # tritonserver copies a model from object storage into /tmp/folderXXXXXX.
    localized = tmp_path / "folderAb12Cd"
    localized.mkdir()
    (localized / "config.pbtxt").write_text('name: "scale"\nbackend: "openvino_py"\n')
    assert model_name(localized) == "scale"
    plain = tmp_path / "resnet"
    plain.mkdir()
    assert model_name(plain) == "resnet"  # no config.pbtxt: the folder's name
