"""The image's steps, run without Docker against the embedded tritonserver.

``docker/install.sh`` installs ovtriton from this checkout into a scratch virtual environment and
places the backend in a scratch backend folder (the image's /opt/tritonserver/backends, whose
``python/`` NVIDIA ships: here it comes from the nvidia-pytriton wheel). ``docker/entrypoint.sh``
then converts an OVMS folder or serves a Triton repository with the embedded tritonserver, as the
container would; the test infers once, runs the Dockerfile's HEALTHCHECK and stops the server
with SIGTERM, as ``docker stop`` and Kubernetes do.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openvino as ov
import pytest
import tritonclient.http as httpclient
from openvino import opset13 as ops

from ovtriton.server import embedded
from ovtriton.server.process import Ports
from tests.deploy.build_context import copy_context
from tests.deploy.test_dockerfile import healthcheck_command
from tests.repository import write_config

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 240  # a ceiling against hanging forever, not a performance requirement


@dataclass(frozen=True)
class Image:
    """What the image would hold, laid out on this machine."""

    venv: Path
    backends: Path
    installation: embedded.Installation

    def environment(self, ports: Ports, **extra: str) -> dict[str, str]:
        env = embedded.environment(self.installation)
        # The scratch environment's python3 first: the stub's interpreter takes its packages.
        env["PATH"] = os.pathsep.join([str(self.venv / "bin"), env["PATH"]])
        env.update(
            TRITONSERVER=str(self.installation.binary),
            OVTRITON=str(self.venv / "bin" / "ovtriton"),
            OVTRITON_BACKEND_DIRECTORY=str(self.backends),
            OVTRITON_HOST="127.0.0.1",
            OVTRITON_HTTP_PORT=str(ports.http),
            OVTRITON_GRPC_PORT=str(ports.grpc),
            OVTRITON_METRICS_PORT=str(ports.metrics),
        )
        env.pop("OVTRITON_OVMS_CONFIG", None)
        env.update(extra)
        return env


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    root = tmp_path_factory.mktemp("image")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # The scratch environment sees this one's packages (openvino, numpy, tritonclient...) so
    # install.sh needs no download but the build backend; its own ovtriton is a regular install.
    scratch_site = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(scratch_site) / "ovtriton-test-base.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )

    installation = embedded.locate()
    backends = root / "backends"
    python_dir = backends / "python"  # NVIDIA's image ships this one
    python_dir.mkdir(parents=True)
    for name in ("libtriton_python.so", "triton_python_backend_utils.py"):
        shutil.copy2(installation.root / "backends" / "python" / name, python_dir / name)
    shutil.copy2(installation.stub, python_dir / "triton_python_backend_stub")

    openvino = f"openvino=={importlib.metadata.version('openvino')}"
    context = copy_context(root / "context")  # what `docker build .` sends (.dockerignore)
    result = subprocess.run(
        ["sh", str(context / "docker" / "install.sh"), str(context), openvino, "numpy<2"],
        env={
            **os.environ,
            "PYTHON": str(venv / "bin" / "python"),
            "OVTRITON_BACKEND_DIRECTORY": str(backends),
        },
        check=False,
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (backends / "openvino_py" / "model.py").is_file()
    located = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c", "import ovtriton; print(ovtriton.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=root,
    ).stdout
    assert located.startswith(str(venv)), f"ovtriton not installed in the scratch env: {located}"
    seed = subprocess.run(  # the seed's repository ships as package data (demo, bench)
        [
            str(venv / "bin" / "python"),
            "-I",
            "-c",
            "from importlib.resources import files; r = files('ovtriton.seed') / "
            "'model_repository'; print(sorted(p.name for p in r.iterdir()))",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=root,
    ).stdout
    assert "'config.json'" in seed and "'image_classification_pipeline'" in seed, seed
    return Image(venv, backends, installation)


def plus_one_model() -> ov.Model:
    x = ops.parameter([-1, 4], np.float32, name="x")
    y = ops.add(x, ops.constant(np.ones((1, 4), np.float32)))
    y.output(0).get_tensor().set_names({"y"})
    return ov.Model([y], [x], "plus_one")


def save_ir(version_dir: Path) -> None:
    version_dir.mkdir(parents=True)
    ov.save_model(plus_one_model(), str(version_dir / "model.xml"), compress_to_fp16=False)


def triton_repository(root: Path) -> Path:
    repo = root / "triton_repo"
    save_ir(repo / "plus_one" / "1")
    write_config(repo / "plus_one", [("x", "TYPE_FP32", [-1, 4])], [("y", "TYPE_FP32", [-1, 4])])
    return repo


def ovms_folder(root: Path) -> Path:
    folder = root / "ovms"
    save_ir(folder / "plus_one_models" / "1")
    config = {
        "model_config_list": [{"config": {"name": "plus_one", "base_path": "plus_one_models"}}]
    }
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@pytest.fixture
def started(
    image: Image, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[subprocess.Popen, Ports]]:
    """Run the entrypoint in the mode the test asks for; yield it once /v2/health/ready is 200."""
    mode = request.param
    ports = Ports.free()
    extra: dict[str, str] = {
        "OVTRITON_CONVERTED_REPOSITORY": str(tmp_path / "converted" / "repository"),
    }
    if mode in ("triton-repository", "guarded"):
        extra["OVTRITON_MODEL_REPOSITORY"] = str(triton_repository(tmp_path))
    if mode == "guarded":  # the HTTP guard on the HTTP port, tritonserver's HTTP behind it
        extra["OVTRITON_HTTP_GUARD"] = "on"
        extra["OVTRITON_UPSTREAM_HTTP_PORT"] = str(Ports.free().http)
    elif mode == "mounted-ovms-folder":
        extra["OVTRITON_MODEL_REPOSITORY"] = str(ovms_folder(tmp_path))
    else:  # ovms-config-variable
        extra["OVTRITON_OVMS_CONFIG"] = str(ovms_folder(tmp_path) / "config.json")
        extra["OVTRITON_MODEL_REPOSITORY"] = str(tmp_path / "unused")
    log_path = tmp_path / "entrypoint.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                "sh",
                str(ROOT / "docker" / "entrypoint.sh"),
                f"--cache-directory={image.installation.caches}",
                f"--backend-config=python,shm-region-prefix-name=ovtritonimage{ports.http}_",
            ],
            env=image.environment(ports, **extra),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while status(f"http://127.0.0.1:{ports.http}/v2/health/ready") != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"the entrypoint did not get ready (exit {process.poll()}):\n"
                    + log_path.read_text(errors="replace")[-4000:]
                )
            time.sleep(0.2)
        yield process, ports
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


MODES = ["triton-repository", "mounted-ovms-folder", "ovms-config-variable", "guarded"]


@pytest.mark.parametrize("started", MODES, indirect=True)
def test_entrypoint_serves_infers_reports_health_and_stops_on_sigterm(
    started: tuple[subprocess.Popen, Ports], image: Image
) -> None:
    process, ports = started
    # exec: the shell is gone and tritonserver itself gets the signals (PID 1 in a container).
    assert (
        Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"tritonserver")
    )

    client = httpclient.InferenceServerClient(f"127.0.0.1:{ports.http}")
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    tensor = httpclient.InferInput("x", [2, 4], "FP32")
    tensor.set_data_from_numpy(x)
    result = client.infer("plus_one", [tensor])
    np.testing.assert_array_equal(result.as_numpy("y"), x + 1)
    assert client.get_model_metadata("plus_one")["platform"] == "openvino_py"

    command = healthcheck_command()
    healthcheck = subprocess.run(
        [sys.executable if command[0] == "python3" else command[0], *command[1:]],
        env={"OVTRITON_HTTP_PORT": str(ports.http)},
        check=False,
        capture_output=True,
        text=True,
    )
    assert healthcheck.returncode == 0, healthcheck.stderr

    # An open keep-alive connection holds Triton's shutdown for --exit-timeout-secs, then it
    # exits 1: close it, as a client (or a load balancer) that is done would.
    client.close()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=WAIT_SECONDS) == 0
    # Nothing of the server's process group (e.g. Python backend stubs) is left behind.
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "processes of the server outlived it"
        time.sleep(0.2)
    unhealthy = subprocess.run(
        [sys.executable if command[0] == "python3" else command[0], *command[1:]],
        env={"OVTRITON_HTTP_PORT": str(ports.http)},
        check=False,
        capture_output=True,
        text=True,
    )
    assert unhealthy.returncode != 0


@pytest.mark.parametrize("started", ["guarded"], indirect=True)
def test_entrypoint_guard_refuses_the_shape_bomb_and_deep_json(
    started: tuple[subprocess.Popen, Ports],
) -> None:
    process, ports = started
    bombs = {
        b'{"inputs": [{"name": "x", "shape": [2, 1099511627776], "datatype": "FP32", '
        b'"data": [1, 2, 3, 4]}]}': "declares 2199023255552 elements",
        b"[" * 50_000 + b"]" * 50_000: "nests deeper than 64",
    }
    for body, message in bombs.items():
        request = urllib.request.Request(
            f"http://127.0.0.1:{ports.http}/v2/models/plus_one/infer", data=body, method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=60)
        assert refused.value.code == 400 and message in refused.value.read().decode()
    assert process.poll() is None
    assert status(f"http://127.0.0.1:{ports.http}/v2/health/ready") == 200
