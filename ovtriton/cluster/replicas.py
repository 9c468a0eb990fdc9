"""The replicas of the cluster: ``ovtriton serve --model-repository s3://…`` processes.

Each replica is a real ``serve`` (its own tritonserver, explicit model control, an admin key
shared by the cluster) on free loopback ports, with an ``--id`` of its own that ``GET /v2``
must answer before the cluster trusts the port. Stopping is by pid: SIGTERM (serve stops
tritonserver, which drains) or SIGKILL (serve's tritonserver dies with it).
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

from tritonclient.utils import InferenceServerException

from ovtriton.errors import UserError
from ovtriton.server import guard
from ovtriton.server.admin import HEADER
from ovtriton.server.ports import Ports
from ovtriton.server.triton_admin import TritonAdmin

LOGGER = logging.getLogger(__name__)


@dataclass
class Replica:
    index: int
    repository: str  # the bucket URL every replica reads (a repository, or a config.json)
    workdir: Path
    admin_key_file: Path
    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # storage credentials
    ports: Ports = field(default_factory=Ports.free)
    server_id: str = ""
    # The OVMS route: ``repository`` is an OVMS config.json read with --config_path and
    # polled every this many seconds (--file_system_poll_wait_seconds); None: a repository.
    poll_seconds: Optional[float] = None
    _process: Optional[subprocess.Popen] = field(default=None, init=False, repr=False)

    @property
    def name(self) -> str:
        return f"replica-{self.index}"

    @property
    def http_url(self) -> str:
        return f"127.0.0.1:{self.ports.http}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise UserError(f"{self.name} is not started")
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        source = ["--model-repository", self.repository]
        if self.poll_seconds is not None:
            source = ["--config_path", self.repository,
                      "--file_system_poll_wait_seconds", f"{self.poll_seconds:g}"]  # fmt: skip
        return [
            sys.executable, "-m", "ovtriton", "serve",
            *source,
            "--host", "127.0.0.1",
            *self.ports.flags(),
            "--admin-key-file", str(self.admin_key_file),
            "--workdir", str(self.workdir / "serve"),
            "--", f"--id={self.server_id}",
        ]  # fmt: skip

    def start(self) -> "Replica":
        """Start serve on this replica's ports (the balancer's upstreams) with a new id."""
        if self.running:
            raise UserError(f"{self.name} is already running (pid {self.pid})")
        self.server_id = f"ovtriton-cluster-{self.index}-{secrets.token_hex(4)}"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._wait_ports_free()
        log = open(self.workdir / "serve.log", "ab")
        try:
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
                start_new_session=True,
            )
        finally:
            log.close()
        return self

    def _wait_ports_free(self, timeout: float = 30.0) -> None:
        """A killed replica's tritonserver may hold the ports a moment longer (it dies with
        serve through PDEATHSIG): wait for them, then fail naming the holder."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                guard.check_ports_free("127.0.0.1", self.ports.named())
                return
            except UserError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def wait_ready(self, timeout: float = 180.0) -> float:
        """Seconds until our server answers ready (its models loaded from the bucket)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if not self.running:
                raise UserError(f"{self.name} exited during start-up; see {self.workdir}/serve.log")
            if self.is_ours(timeout=1) and self.ready():
                return time.monotonic() - started
            time.sleep(0.1)
        raise UserError(f"{self.name} was not ready within {timeout:.0f} s")

    def ready(self) -> bool:
        return self._admin().ready()

    def is_ours(self, timeout: float = 2.0) -> bool:
        """Whether this replica's own server answers on its HTTP port (``GET /v2``'s name)."""
        return self._admin().server_name(timeout) == self.server_id

    def _admin(self, timeout: float = 120.0) -> TritonAdmin:
        """Triton's HTTP API of this replica (the admin key read from its file when set)."""
        key = self.admin_key_file
        headers = {HEADER: key.read_text(encoding="utf-8").strip()} if key.is_file() else {}
        return TritonAdmin(self.http_url, headers, timeout=timeout)

    def terminate(self, timeout: float = 60.0) -> tuple[float, Optional[float]]:
        """SIGTERM; returns (seconds until serve exited: its drain time, seconds until its
        readiness answered anything but 200, None when it never did before the exit)."""
        started = time.monotonic()
        unready: Optional[float] = None
        if self.running:
            assert self._process is not None
            self._process.send_signal(signal.SIGTERM)
            while self._process.poll() is None and time.monotonic() - started < timeout:
                if unready is None and not self.ready():
                    unready = time.monotonic() - started
                time.sleep(0.05)
            if self._process.poll() is None:
                LOGGER.warning("%s did not stop within %.0f s; killing it", self.name, timeout)
        drained = time.monotonic() - started
        self.kill()
        return drained, unready

    def kill(self) -> None:
        """SIGKILL serve's process group (its tritonserver follows through PDEATHSIG)."""
        if self._process is None:
            return
        guard.kill_group(self._process.pid)
        self._process.wait()
        self._process = None

    def load(self, model: str, timeout: float = 120.0) -> tuple[int, str]:
        """Ask this replica to (re)load ``model`` from the bucket: (HTTP status, message)."""
        admin = self._admin(timeout)
        if not self.is_ours():
            raise UserError(f"{self.name}: another server answers on {self.http_url}")
        try:
            admin.load(model)
        except InferenceServerException as exc:
            status = str(exc.status() or "")
            return (int(status) if status.isdigit() else 500), str(exc.message())
        return 200, ""
