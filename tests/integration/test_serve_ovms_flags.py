"""`ovtriton serve` started with OVMS's flags: every warned and mapped flag of the table in one
start that serves, every refused flag in one start that exits 1 naming each, before Triton."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import ovmsclient

from ovtriton.commands.ovms_flag_table import FLAGS
from ovtriton.server.process import Ports
from tests.integration.test_serve_cli import read_until
from tests.models import save, two_input_model

# Mapped flags that need a value of their own here (the rest: "1" or a bare switch).
VALUES = {
    "port": None,  # set per run
    "rest_port": None,
    "grpc_bind_address": "127.0.0.1",
    "rest_bind_address": "127.0.0.1",
    "log_level": "INFO",
    "file_system_poll_wait_seconds": "0",
}
NOT_WITH_A_CONFIG = {"help", "version", "model_path", "model_name", "config_path"}
ONE_MODEL_ONLY = {
    "batch_size", "shape", "layout", "model_version_policy", "nireq", "target_device",
    "plugin_config",
}  # fmt: skip


def test_serve_with_every_warned_and_mapped_flag_serves_and_warns_once_each(
    tmp_path: Path,
) -> None:
    save(two_input_model(), tmp_path / "models" / "two" / "1")
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"model_config_list": [{"config": {"name": "two", "base_path": "models/two"}}]})
    )
    triton, ovms = Ports.free(), Ports.free()
    log = tmp_path / "ovms.log"
    argv = ["--config_path", str(config), "--log_path", str(log)]
    argv += ["--port", str(ovms.grpc), "--rest_port", str(ovms.http)]
    warned = [f for f in FLAGS if f.action == "warned"]
    for flag in FLAGS:
        skip = NOT_WITH_A_CONFIG | ONE_MODEL_ONLY | {"port", "rest_port", "log_path"}
        if flag.action == "refused" or flag.name in skip:
            continue
        if flag.value == "switch":
            argv.append(flag.option)
        else:
            argv += [flag.option, VALUES.get(flag.name) or "1"]
    command = [
        sys.executable, "-m", "ovtriton", "serve", *argv, *triton.flags(),
        "--workdir", str(tmp_path / "work"),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = read_until(process, "Press Ctrl-C to stop")
        for flag in warned:
            assert output.count(f"{flag.option} is accepted and changes nothing here") == 1, flag
        client = ovmsclient.make_grpc_client(f"127.0.0.1:{ovms.grpc}")
        out = client.predict(
            {"a": np.ones((1, 3), np.float32), "b": np.ones((1, 3), np.float32)}, "two"
        )
        np.testing.assert_array_equal(out["sum"], [[2, 2, 2]])
        assert "Press Ctrl-C to stop" in log.read_text()  # --log_path gets serve's log
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_serve_with_the_refused_flags_exits_1_naming_each(tmp_path: Path) -> None:
    argv = ["--config_path", str(tmp_path / "config.json")]
    refused = [f for f in FLAGS if f.action == "refused"]
    for flag in refused:
        argv += [flag.option] if flag.value == "switch" else [flag.option, "1"]
    done = subprocess.run(
        [sys.executable, "-m", "ovtriton", "serve", *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    for flag in refused:
        assert f"{flag.option}: {flag.what}" in done.stderr
    assert "tritonserver" not in done.stderr  # refused before anything started


def test_one_model_mode_with_every_model_flag_serves(tmp_path: Path) -> None:
    from tests.integration.test_tfs_fidelity import encode, identity, picture, reference

    save(identity([1, 6, 5, 3], np.float32), tmp_path / "m" / "1")
    triton, ovms = Ports.free(), Ports.free()
    flags = {
        "batch_size": "1", "shape": "(1,6,5,3)", "layout": "NHWC", "nireq": "2",
        "model_version_policy": '{"latest": {"num_versions": 1}}', "target_device": "CPU",
        "plugin_config": '{"NUM_STREAMS": "1"}',
    }  # fmt: skip
    assert set(flags) == ONE_MODEL_ONLY
    command = [
        sys.executable, "-m", "ovtriton", "serve", "--model_path", str(tmp_path / "m"),
        "--model_name", "m", "--port", str(ovms.grpc),
        *[a for name, value in flags.items() for a in (f"--{name}", value)],
        *triton.flags(), "--workdir", str(tmp_path / "work"),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        read_until(process, "Press Ctrl-C to stop")
        blob = encode(picture(12, 10, 3, 1), ".jpg")
        client = ovmsclient.make_grpc_client(f"127.0.0.1:{ovms.grpc}")
        got = np.asarray(client.predict({"image": blob}, "m"))
        np.testing.assert_allclose(got, reference([blob], [1, 6, 5, 3], np.float32), atol=1e-6)
    finally:
        process.terminate()
        process.wait(timeout=60)
