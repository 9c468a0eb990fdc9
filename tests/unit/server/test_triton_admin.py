"""TritonAdmin: one object shared by many threads (tritonclient's gevent HTTP client crashes
when one client is used from two threads: each call opens its own), health that never
raises, identity checked."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ovtriton.errors import UserError
from ovtriton.server.ports import Ports
from ovtriton.server.triton_admin import TritonAdmin


POSTED: list[str] = []  # the paths POSTed to the fake, in order


class FakeTriton(BaseHTTPRequestHandler):
    """GET /v2 names the server; GET /v2/health/live answers 200; the index needs a key."""

    def do_GET(self) -> None:
        if self.path == "/v2":
            self._answer(200, {"name": "ovtriton-1-a", "version": "2.51.0"})
        elif self.path == "/v2/health/live":
            self._answer(200, None)
        elif self.path == "/v2/models/stats":  # what Triton has loaded: one model, two versions
            stats = [{"name": "m", "version": v, "inference_count": 0} for v in ("1", "2")]
            self._answer(200, {"model_stats": stats})
        else:
            self._answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        POSTED.append(self.path)
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        if self.path == "/v2/repository/index" and self.headers.get("k") == "v":
            self._answer(200, [{"name": "m", "version": "1", "state": "READY"}])
        else:
            self._answer(403, {"error": "This API is restricted, expecting header 'k'"})

    def _answer(self, status: int, body: object) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with ThreadingHTTPServer(("127.0.0.1", 0), FakeTriton) as fake:
        thread = threading.Thread(target=fake.serve_forever, daemon=True)
        thread.start()
        yield f"127.0.0.1:{fake.server_address[1]}"
        fake.shutdown()


def test_one_admin_object_serves_many_threads_at_once(url: str) -> None:
    admin = TritonAdmin(url, {"k": "v"})
    names: list[object] = []
    lock, go = threading.Lock(), threading.Event()

    def call() -> None:
        go.wait()
        for _ in range(5):
            try:
                found: object = (admin.server_name(), admin.live(), len(admin.index()))
            except Exception as exc:  # noqa: BLE001 - recorded and asserted below
                found = repr(exc)
            with lock:
                names.append(found)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    go.set()
    for thread in threads:
        thread.join(60)
    assert names == [("ovtriton-1-a", True, 1)] * 40


def test_identity_and_key(url: str) -> None:
    TritonAdmin(url).verify("ovtriton-1-a")
    with pytest.raises(UserError, match="is 'ovtriton-1-a', not ovtriton's 'other'"):
        TritonAdmin(url).verify("other")
    with pytest.raises(Exception, match="restricted"):
        TritonAdmin(url, {"k": "wrong"}).index()


def test_health_of_nothing_is_false_not_an_exception() -> None:
    nothing = TritonAdmin(f"127.0.0.1:{Ports.free().http}")
    assert nothing.live() is False and nothing.ready() is False
    assert nothing.server_name() is None
    with pytest.raises(ConnectionError, match="no server answers"):
        nothing.verify("x")


def test_loaded_models_come_from_the_statistics_never_the_repository_index(url: str) -> None:
    POSTED.clear()
    assert TritonAdmin(url, {"k": "v"}).loaded() == [("m", "1"), ("m", "2")]
    assert POSTED == []  # the index (a POST that lists the repository) was not asked
