"""What answers on a port, for ``infer``/``metadata`` pointed at the wrong kind of port.

When the first call to a server fails, the port is asked once, over plain TCP and HTTP/1.1,
what it is: Triton's HTTP (KServe v2) port, its metrics port, an HTTP/2 (gRPC) server, another
HTTP server or a service that does not speak HTTP. A port that does not speak the protocol the
user chose becomes a one-line ``UserError`` saying what answered and what to do instead.
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Optional

from ovtriton.client import Client, Metadata
from ovtriton.errors import UserError
from ovtriton.seed import client as seed_client

TIMEOUT = 3.0
# An HTTP/2 server answers anything with its SETTINGS frame: 3 bytes length, type 0x04.
_SETTINGS = 0x04


def fetch_metadata(url: str, protocol: str, model: str) -> tuple[Client, Metadata]:
    """The model's metadata over ``protocol``; a port speaking something else is a UserError."""
    connection = Client(url, protocol)
    failure: Exception
    try:
        return connection, seed_client.metadata(connection, model)
    except UserError as error:
        failure = error
    except (http.client.HTTPException, ValueError) as error:  # not HTTP, or a body not JSON
        failure = error
    reason = mismatch(url, protocol)
    if reason:
        raise UserError(reason) from None
    if isinstance(failure, UserError):
        raise failure
    raise UserError(f"{url} gave no HTTP answer the client understands: {failure}") from None


def mismatch(url: str, protocol: str) -> Optional[str]:
    """Why ``url`` is not a KServe v2 ``protocol`` port, or None when it may well be one."""
    what = describe(url)
    if what is None:  # nothing listens or the probe itself failed: the client's error says it
        return None
    kind, text = what
    if (protocol, kind) in (("http", "kserve-http"), ("grpc", "http2")):
        return None
    hint = {
        "http2": "use --protocol grpc (or Triton's HTTP port, 8000)",
        "kserve-http": "use --protocol http (or Triton's gRPC port, 8001)",
        "metrics": "point --url at Triton's HTTP (8000) or gRPC (8001) port",
    }.get(kind, "check --url: Triton's HTTP port is 8000, its gRPC port 8001 by default")
    return f"{url} is {text}, not a KServe v2 {protocol} endpoint; {hint}"


def describe(url: str) -> Optional[tuple[str, str]]:
    """(kind, words) for what answers on ``url``; None when nothing does."""
    host, _, port_text = url.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
        first = _first_bytes(host, port)
    except (OSError, ValueError):
        return None
    if not first:
        return "silent", "a service that closed the connection without answering HTTP"
    if len(first) >= 9 and first[3] == _SETTINGS:
        return "http2", "an HTTP/2 server (a gRPC port)"
    if not first.startswith(b"HTTP/"):
        said = first.split(b"\n", 1)[0].decode("ascii", "replace").strip()[:60]
        return "other", f"a service that does not speak HTTP (it said {said!r})"
    return _describe_http(host, port)


def _first_bytes(host: str, port: int) -> bytes:
    with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
        sock.sendall(f"GET /v2 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        try:
            return sock.recv(256)
        except socket.timeout:
            return b""


def _describe_http(host: str, port: int) -> tuple[str, str]:
    status, body = _get(host, port, "/v2")
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if status == 200 and isinstance(answer, dict) and "name" in answer:
        return "kserve-http", f"a KServe v2 HTTP server ({answer['name']})"
    metrics_status, metrics = _get(host, port, "/metrics")
    if metrics_status == 200 and b"nv_" in metrics:
        return "metrics", "Triton's metrics port (Prometheus text on /metrics)"
    return "http", f"an HTTP server that answered GET /v2 with status {status}"


def _get(host: str, port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read(65536)
    finally:
        connection.close()
