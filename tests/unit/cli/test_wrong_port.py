"""`ovtriton infer/metadata` pointed at a port that does not speak the chosen protocol: one line,
exit 1, saying what answered. Real servers of each kind run in this process: a gRPC server,
an HTTP server that is not KServe, and a TCP service with a banner (as SSH or SMTP greet).
Triton's own gRPC, HTTP and metrics ports are covered in tests/integration/test_seed_demo.py.
"""

from __future__ import annotations

import http.server
import socket
import threading
from concurrent import futures
from typing import Iterator

import grpc
import pytest

from ovtriton.cli import main

COMMANDS = (["metadata", "m"], ["infer", "m", "--iterations", "1"])


@pytest.fixture(scope="module")
def grpc_port() -> Iterator[int]:
    server = grpc.server(futures.ThreadPoolExecutor(1))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port
    server.stop(None)


class _NotFound(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def http_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def banner_port() -> Iterator[int]:
    listener = socket.create_server(("127.0.0.1", 0))

    def greet() -> None:
        while True:
            try:
                peer, _ = listener.accept()
            except OSError:
                return
            with peer:
                peer.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    threading.Thread(target=greet, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def run(command: list[str], port: int, protocol: str, caplog: pytest.LogCaptureFixture) -> str:
    caplog.clear()
    code = main([*command, "--url", f"127.0.0.1:{port}", "--protocol", protocol])
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert code == 1, errors
    assert len(errors) == 1 and len(errors[0].splitlines()) == 1, errors
    assert "Traceback" not in caplog.text
    return errors[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_http_client_at_a_grpc_port(
    grpc_port: int, command: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    err = run(command, grpc_port, "http", caplog)
    assert f"127.0.0.1:{grpc_port} is an HTTP/2 server (a gRPC port)" in err
    assert "use --protocol grpc" in err


@pytest.mark.parametrize("protocol", ["http", "grpc"])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_service_that_does_not_speak_http(
    banner_port: int, command: list[str], protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    err = run(command, banner_port, protocol, caplog)
    assert "does not speak HTTP (it said 'SSH-2.0-OpenSSH_9.2')" in err
    assert f"not a KServe v2 {protocol} endpoint" in err


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_an_http_server_that_is_not_kserve(
    http_port: int, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    err = run(["metadata", "m"], http_port, protocol, caplog)
    assert "an HTTP server that answered GET /v2 with status 404" in err


def test_nothing_listening_still_says_is_it_running(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens
    err = run(["metadata", "m"], port, "http", caplog)
    assert "Connection refused; is it running?" in err
