"""A real ``ovtriton serve --config X --cores N`` (a subprocess, as a user runs it) serves the
repository ``ovtriton convert X --cores N`` writes: same files, and Triton reports the thread
budget convert gave (the OVMS user's path used to get none: 15 % less throughput)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import tritonclient.http as httpclient

from ovtriton.cli import main
from ovtriton.server.process import Ports
from tests.integration.test_serve_cli import processes_using, read_until
from tests.unit.converter.golden_cases import pipelines
from tests.unit.server.test_serve_equals_convert import tree

FLAGS = ("--cores", "4", "--schedule", "even", "--fuse", "chain")  # even: reproducible


def test_serve_config_serves_what_convert_writes_with_the_same_flags(tmp_path: Path) -> None:
    config = pipelines(tmp_path / "ovms")  # diamond (2 branches side by side) and chain
    converted = tmp_path / "converted"
    assert main(["convert", str(config), "-o", str(converted), *FLAGS]) == 0
    workdir, ports = tmp_path / "work", Ports.free()
    command = [sys.executable, "-m", "ovtriton", "serve", "--config", str(config), *FLAGS]
    command += [*ports.flags(), "--workdir", str(workdir), "--open-control-apis"]
    command += ["--", "--id=ovtriton-under-test"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        read_until(process, "Press Ctrl-C to stop")
        client = httpclient.InferenceServerClient(f"127.0.0.1:{ports.http}")
        assert client.get_server_metadata()["name"] == "ovtriton-under-test"  # our server
        assert tree(workdir / "repository") == tree(converted)
        # diamond's two branches on 4 cores: 2 threads each for "add" (chain is one model)
        served = client.get_model_config("add")["parameters"]["INFERENCE_NUM_THREADS"]
        assert served == {"string_value": "2"}
        assert client.get_model_metadata("chain")["platform"] != "ensemble"
        assert client.get_model_config("diamond")["platform"] == "ensemble"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert processes_using(workdir) == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
