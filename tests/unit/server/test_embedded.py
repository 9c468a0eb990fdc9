import os
import socket
import stat
import sys
from pathlib import Path

from ovtriton.server import embedded
from ovtriton.server.process import Ports, TritonServer


def test_locate_finds_binary_and_stub_for_this_python() -> None:
    found = embedded.locate()
    assert os.access(found.binary, os.X_OK)
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" in str(found.stub)


def test_assemble_backend_dir_holds_python_backend_and_openvino_py(tmp_path: Path) -> None:
    dest = embedded.assemble_backend_dir(embedded.locate(), tmp_path / "backends")
    assert sorted(p.name for p in (dest / "python").iterdir()) == [
        "libtriton_python.so",
        "triton_python_backend_stub",
        "triton_python_backend_utils.py",
    ]
    assert (dest / "python" / "triton_python_backend_stub").stat().st_mode & stat.S_IXUSR
    installed = sorted(p.name for p in (dest / "openvino_py").iterdir())
    assert "model.py" in installed and "engine.py" in installed
    assert not any(name.startswith("__pycache__") for name in installed)


def test_environment_puts_libpython_and_wheel_libs_on_library_path() -> None:
    found = embedded.locate()
    env = embedded.environment(found, {"LD_LIBRARY_PATH": "/x", "PATH": "/usr/bin"})
    parts = env["LD_LIBRARY_PATH"].split(os.pathsep)
    assert parts[1] == str(found.libs) and parts[-1] == "/x"
    assert env["PATH"].startswith(str(Path(sys.exec_prefix) / "bin"))


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = Ports.free()
    assert len({ports.http, ports.grpc, ports.metrics}) == 3
    for port in (ports.http, ports.grpc, ports.metrics):
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_command_binds_loopback_and_has_no_trailing_slash(tmp_path: Path) -> None:
    server = TritonServer(tmp_path, ports=Ports(1, 2, 3), extra_args=("--log-verbose=1",))
    cmd = server.command(tmp_path / "backends", embedded.locate())
    assert f"--backend-directory={tmp_path / 'backends'}" in cmd
    assert "--http-address=127.0.0.1" in cmd and "--grpc-address=127.0.0.1" in cmd
    assert cmd[-1] == "--log-verbose=1"


def test_assembling_again_over_a_running_stub_works(tmp_path: Path) -> None:
    """A stub still running from the backend folder (a killed serve's, same --workdir) made the
    next serve exit 3: copying over a running executable fails with ETXTBSY."""
    import subprocess

    dest = embedded.assemble_backend_dir(embedded.locate(), tmp_path / "backends")
    stub = dest / "python" / "triton_python_backend_stub"
    stub.write_bytes(Path("/bin/sleep").read_bytes())  # stands in for the running stub
    running = subprocess.Popen([str(stub), "60"])
    try:
        embedded.assemble_backend_dir(embedded.locate(), tmp_path / "backends")
        assert running.poll() is None
        assert stub.read_bytes() == embedded.locate().stub.read_bytes()
        assert not list((dest / "python").glob(".*"))  # no staging copy left
    finally:
        running.kill()
        running.wait()
