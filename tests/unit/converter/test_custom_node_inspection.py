"""Custom node libraries are inspected in a child process with a deadline (issue 19 finding
7): a library that crashes or blocks at load is a refused config with one line; the
converter (and `serve --watch`) lives on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ovtriton.converter import ConfigError, plan
from ovtriton.converter.pipeline_check import inspection
from ovtriton.server.watch import ConfigWatcher
from tests.custom_nodes.build import compile_library
from tests.custom_nodes.faulty import write_one_node_config


@pytest.fixture(scope="module")
def libraries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("libs")
    return {n: compile_library(n, out) for n in ("crash_at_load", "hang_at_load", "sleepy")}


def test_a_library_that_crashes_at_load_is_refused_with_one_line(
    libraries: dict[str, Path], tmp_path: Path
) -> None:
    config = write_one_node_config(tmp_path, libraries["crash_at_load"])
    with pytest.raises(ConfigError) as caught:
        plan(config)
    [problem] = [str(p) for p in caught.value.problems]
    assert f"custom node library {libraries['crash_at_load']} crashed while loaded " in problem
    assert "(killed by SIGSEGV)" in problem


def test_a_library_that_blocks_at_load_is_refused_after_the_deadline(
    libraries: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(inspection, "INSPECT_SECONDS", 2.0)
    config = write_one_node_config(tmp_path, libraries["hang_at_load"])
    with pytest.raises(ConfigError) as caught:
        plan(config)
    [problem] = [str(p) for p in caught.value.problems]
    assert "did not finish loading (initialize, getInputsInfo, getOutputsInfo) within 2 s" in (
        problem
    )


def test_a_good_library_is_described_from_the_child(
    libraries: dict[str, Path], tmp_path: Path
) -> None:
    inputs, outputs = inspection.inspect_library(libraries["sleepy"], "node", {})
    assert {n: (i.precision, str(i.dtype), i.dims) for n, i in inputs.items()} == {
        "x": ("FP32", "float32", (1, 4))
    }
    assert list(outputs) == ["y"]
    assert [m.name for m in plan(write_one_node_config(tmp_path, libraries["sleepy"])).models] == [
        "pipe"
    ]


def test_convert_dry_run_survives_a_crashing_library(
    libraries: dict[str, Path], tmp_path: Path
) -> None:
    config = write_one_node_config(tmp_path, libraries["crash_at_load"])
    command = [sys.executable, "-m", "ovtriton", "convert", str(config), "-o",
               str(tmp_path / "out"), "--dry-run"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "crashed while loaded (killed by SIGSEGV)" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_watch_refuses_a_crashing_library_and_keeps_serving(
    libraries: dict[str, Path], tmp_path: Path
) -> None:
    config = write_one_node_config(tmp_path / "ovms", libraries["sleepy"])
    watcher = ConfigWatcher(config, tmp_path / "repository")
    watcher.convert_initial()
    loads: list[str] = []
    write_one_node_config(tmp_path / "ovms", libraries["crash_at_load"])
    assert watcher.poll(loads.append, loads.append) is False
    assert "crashed while loaded (killed by SIGSEGV)" in watcher.last_error
    assert loads == [] and (tmp_path / "repository" / "pipe").is_dir()
