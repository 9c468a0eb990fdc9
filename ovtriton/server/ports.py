"""The three ports of a tritonserver (HTTP, gRPC, metrics) and how clients reach its address."""

from __future__ import annotations

import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Ports:
    http: int = 8000
    grpc: int = 8001
    metrics: int = 8002

    def flags(self) -> list[str]:
        """The command-line options that choose these ports (serve, demo)."""
        return [
            "--http-port", str(self.http),
            "--grpc-port", str(self.grpc),
            "--metrics-port", str(self.metrics),
        ]  # fmt: skip

    @classmethod
    def free(cls, host: str = "127.0.0.1") -> "Ports":
        """Three ports nobody listens on right now (for tests and parallel runs)."""
        sockets = [socket.socket() for _ in range(3)]
        try:
            for s in sockets:
                s.bind((host, 0))
            return cls(*(s.getsockname()[1] for s in sockets))
        finally:
            for s in sockets:
                s.close()

    def named(self) -> list[tuple[str, int]]:
        return [("HTTP", self.http), ("gRPC", self.grpc), ("metrics", self.metrics)]


def client_host(host: str) -> str:
    """The address a client on this machine uses for a server bound to ``host``."""
    return "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
