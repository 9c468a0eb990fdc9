"""`serve --config --watch` on a full disk: the change is logged and retried, nothing stops.

The work folder (backend copy, server log, converted repository) is a 64 MiB tmpfs filled to
the last byte. Mounting needs root (this machine and CI run as root); without the privilege the
test is skipped, any other mount failure fails it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Iterator

import pytest
import tritonclient.http as httpclient

from ovtriton.server.process import Ports
from tests.integration.test_serve_watch import (
    Output,
    ScaleLoad,
    eventually,
    ovms_config,
    start_watch,
)
from tests.models import save, scale_model

_NO_PRIVILEGE = ("permission denied", "operation not permitted", "must be superuser", "only root")


@contextlib.contextmanager
def tmpfs(mount_point: Path, size: str) -> Iterator[Path]:
    mount_point.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        if any(words in done.stderr.lower() for words in _NO_PRIVILEGE):
            pytest.skip(f"no privilege to mount a tmpfs: {done.stderr.strip()}")
        pytest.fail(f"mount -t tmpfs failed (exit {done.returncode}): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], check=True)  # still busy: detach


def fill(folder: Path) -> Path:
    """Write until the file system is full; returns the filler file."""
    filler = folder / "filler"
    chunk = b"\0" * (1 << 20)
    with open(filler, "wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        try:  # the last few bytes of the last page
            while True:
                out.write(b"\0" * 512)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return filler


def test_watch_keeps_serving_on_a_full_disk_and_applies_the_change_once_there_is_room(
    tmp_path: Path,
) -> None:
    save(scale_model((1, 4), factor=3.0), tmp_path / "models" / "scale" / "1")
    config = tmp_path / "config.json"
    good = ovms_config({"latest": {"num_versions": 1}}, None)
    config.write_text(json.dumps(good))
    ports = Ports.free()
    with tmpfs(tmp_path / "disk", "64m") as disk:
        process = start_watch(config, ports, disk / "work")
        output = Output(process)
        try:
            eventually(lambda: "Press Ctrl-C to stop" in output.text(), "server up", output, 240)
            client = httpclient.InferenceServerClient(f"127.0.0.1:{ports.http}")
            with ScaleLoad(f"127.0.0.1:{ports.http}") as load:
                filler = fill(disk)
                changed = json.loads(json.dumps(good))
                changed["pipeline_config_list"][0]["outputs"] = [
                    {"renamed": {"node_name": "scale_node", "data_item": "y"}}
                ]
                config.write_text(json.dumps(changed))
                eventually(
                    lambda: "No space left on device" in output.text(), "ENOSPC logged", output
                )
                assert "cannot write the new repository" in output.text(), output.text()
                ok_full = load.ok
                # several polls on the full disk (each says it validates the changed config):
                # retried, the error logged once
                polls = output.text().count("validating it")
                eventually(
                    lambda: output.text().count("validating it") >= polls + 3,
                    "three more polls on the full disk",
                    output,
                )
                assert process.poll() is None, output.text()
                assert output.text().count("cannot write the new repository") == 1
                assert client.get_model_metadata("pipe")["outputs"][0]["name"] == "y"
                assert load.ok > ok_full, "requests stopped while the disk was full"
                filler.unlink()
                eventually(
                    lambda: client.get_model_metadata("pipe")["outputs"][0]["name"] == "renamed",
                    "the change applied once there is room",
                    output,
                )
            assert load.failed == [], load.failed[:3]
            client.close()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=90) == 0, output.text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
