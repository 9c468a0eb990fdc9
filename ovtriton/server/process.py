"""Run tritonserver as a child process: start, wait until it answers, stop without orphans."""

from __future__ import annotations

import logging
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

from ovtriton.errors import UserError
from ovtriton.server import arguments, embedded, guard, hide_key
from ovtriton.server.arguments import EXIT_TIMEOUT, EXPLICIT_MODE_ARGS
from ovtriton.server.admin import AdminAccess
from ovtriton.server.embedded import MALLOC_TUNING
from ovtriton.server.http_guard import HttpEntrance
from ovtriton.server.ports import Ports, client_host
from ovtriton.server.remote import RemoteRepository, check_reachable
from ovtriton.server.stubs import StubWatchdog
from ovtriton.server.triton_admin import TritonAdmin

LOGGER = logging.getLogger(__name__)

SHM_DIR = guard.SHM_DIR
__all__ = [
    "EXIT_TIMEOUT",
    "EXPLICIT_MODE_ARGS",
    "MALLOC_TUNING",
    "SHM_DIR",
    "ModelState",
    "Ports",
    "TritonServer",
]


@dataclass
class ModelState:
    name: str
    version: str
    state: str
    reason: str = ""


@dataclass
class TritonServer:
    """The embedded tritonserver serving ``repository``. Use as a context manager."""

    repository: Union[Path, RemoteRepository]  # a folder, or a bucket (tritonserver reads it)
    host: str = "127.0.0.1"
    ports: Ports = field(default_factory=Ports)
    extra_args: Sequence[str] = ()
    workdir: Optional[Path] = None
    log_path: Optional[Path] = None
    startup_timeout: float = 180.0
    env: Mapping[str, str] = field(default_factory=dict)  # added to tritonserver's environment
    malloc_tuning: bool = True  # MALLOC_TUNING unless the environment sets those variables
    # Reload a model whose stub process died (Triton 2.51 does not); needs explicit model
    # control, which is added unless extra_args choose a --model-control-mode themselves.
    revive_stubs: bool = True
    # Key of the control APIs (model repository, shared memory, logging, trace); random per
    # start unless given. AdminAccess(enabled=False) leaves them open to every client.
    admin: AdminAccess = field(default_factory=AdminAccess)
    server_id: str = field(default_factory=guard.new_server_id)
    # Whether the HTTP guard stands on host:ports.http (tritonserver's HTTP then on loopback).
    http_entrance: HttpEntrance = field(default_factory=HttpEntrance)
    watchdog: Optional[StubWatchdog] = field(default=None, init=False, repr=False)
    _process: Optional[subprocess.Popen] = field(default=None, init=False, repr=False)
    _tmp: Optional[tempfile.TemporaryDirectory] = field(default=None, init=False, repr=False)
    _sentinel: Optional[guard.Sentinel] = field(default=None, init=False, repr=False)

    @property
    def http_url(self) -> str:
        """tritonserver's own HTTP (behind the guard: its loopback port)."""
        return self.http_entrance.upstream or self.public_http_url

    @property
    def public_http_url(self) -> str:
        """What clients reach: the guard when there is one."""
        return f"{client_host(self.host)}:{self.ports.http}"

    @property
    def grpc_url(self) -> str:
        return f"{client_host(self.host)}:{self.ports.grpc}"

    @property
    def metrics_url(self) -> str:
        return f"http://{client_host(self.host)}:{self.ports.metrics}/metrics"

    @property
    def shm_prefix(self) -> str:
        """Prefix of this server's shared-memory files in /dev/shm (unique per process and port)."""
        return guard.shm_prefix(self.ports.http)

    @property
    def admin_client(self) -> TritonAdmin:
        """Triton's HTTP API with the admin key (safe to share between threads)."""
        return TritonAdmin(self.http_url, self.admin_headers)

    @property
    def admin_headers(self) -> dict[str, str]:
        """Headers (gRPC: metadata) a client sends to use the control APIs of this server."""
        return self.admin.headers(self.extra_args)

    @property
    def expected_id(self) -> str:
        """What ``GET /v2`` answers as "name": ours, or the operator's own ``--id``."""
        ids = [a.partition("=")[2] for a in self.extra_args if a.startswith("--id=")]
        return ids[-1] if ids else self.server_id

    def command(self, backend_dir: Path, installation: embedded.Installation) -> list[str]:
        """tritonserver's command line (``arguments.py``)."""
        return arguments.command(self, backend_dir, installation)

    def _explicit(self) -> bool:
        return arguments.explicit(self)

    def start(self) -> "TritonServer":
        if isinstance(self.repository, RemoteRepository):
            check_reachable(self.repository)
        elif not self.repository.is_dir():
            raise UserError(f"model repository {self.repository} is not a directory")
        installation = embedded.locate()
        guard.check_ports_free(self.host, self.ports.named())
        guard.remove_leftovers()
        self.http_entrance.prepare(self.host)
        if self.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix=guard.temp_prefix())
            self.workdir = Path(self._tmp.name)
        if self.log_path is None:
            self.log_path = self.workdir / "tritonserver.log"
        # Kills tritonserver's process group (the stubs included) if this process is killed.
        self._sentinel = guard.Sentinel.start()
        try:
            self._launch(installation)
            self.http_entrance.start(self.host, self.ports.http)  # stays up across restarts
        except BaseException:
            self.stop()
            raise
        return self

    def restart(self) -> None:
        """Start tritonserver again after it died: what is left of the old one (its stubs, its
        shared memory) removed first, a new ``--id``, the stub watchdog following the new
        process. Raises UserError when the new one does not come up (the caller retries)."""
        if self.watchdog is not None:
            self.watchdog.stop()
            self.watchdog = None
        if self._process is not None:
            self._reap(self._process)
        guard.check_ports_free(self.host, self.ports.named())
        self.server_id = guard.new_server_id()
        try:
            self._launch(embedded.locate())
        except BaseException:
            if self._process is not None:
                self._reap(self._process)
            raise

    def _launch(self, installation: embedded.Installation) -> None:
        """Start tritonserver, wait until it answers as ours, start the stub watchdog."""
        assert self.workdir is not None and self.log_path is not None
        backend_dir = embedded.assemble_backend_dir(installation, self.workdir / "backends")
        cmd = self.command(backend_dir, installation)
        shown = " ".join(cmd).replace(self.admin.value, "<admin key>") if self.admin.enabled else ""
        LOGGER.debug("starting %s", shown or " ".join(cmd))
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={
                    **(MALLOC_TUNING if self.malloc_tuning else {}),
                    **embedded.environment(installation),
                    **(
                        self.repository.env if isinstance(self.repository, RemoteRepository) else {}
                    ),
                    **self.env,
                },
                start_new_session=True,  # its own process group: the stubs go with it
                # Dies with the thread that starts it: start from a long-lived thread.
                preexec_fn=guard.die_with_parent,
            )
        if self._sentinel is not None:
            self._sentinel.watch(self._process.pid)
        # Other local users must not read the admin key in /proc/PID/cmdline (ps).
        hide_key.hide_when_parsed(self._process.pid, self.admin.secrets(self.extra_args))
        self.wait_ready()
        if self.revive_stubs and self._explicit():
            self.watchdog = StubWatchdog(
                self._process.pid,
                self.admin_client,
                verify=self.verify,
            ).start()

    def wait_ready(self) -> None:
        """Wait until the server is live and has finished loading its models."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise UserError(
                    f"tritonserver exited with code {self._process.returncode} during start-up:\n"
                    + self.log_tail()
                )
            if self.admin_client.live():
                try:
                    self.verify()
                    return
                except ConnectionError:
                    pass  # it stopped answering in between: the loop says why
            time.sleep(0.2)
        raise UserError(
            f"tritonserver did not start within {self.startup_timeout:.0f} s:\n" + self.log_tail()
        )

    def verify(self) -> None:
        """Raise UserError unless our own tritonserver answers on the HTTP port."""
        self.admin_client.verify(self.expected_id)

    def is_ready(self) -> bool:
        return self.admin_client.ready()

    def models(self) -> list[ModelState]:
        """Every model of the repository with its state and, for a failed one, why."""
        return [
            ModelState(
                m["name"], m.get("version", ""), m.get("state", "UNKNOWN"), m.get("reason", "")
            )
            for m in self.admin_client.index()
        ]

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])

    @property
    def pid(self) -> int:
        """tritonserver's pid, also the id of its process group (the stubs belong to it)."""
        if self._process is None:
            raise UserError("tritonserver is not started")
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def wait(self) -> int:
        return self._process.wait() if self._process is not None else 0

    def stop(self, timeout: float = 40.0) -> int:
        """SIGTERM (Triton drains in-flight requests), then SIGKILL the whole process group."""
        code = 0
        self.http_entrance.stop()
        if self.watchdog is not None:
            self.watchdog.stop()
            self.watchdog = None
        if self._process is not None:
            if self._process.poll() is None:
                self._process.send_signal(signal.SIGTERM)
                try:
                    self._process.wait(timeout)
                except subprocess.TimeoutExpired:
                    LOGGER.warning("tritonserver did not stop within %.0f s; killing it", timeout)
            code = self._process.returncode if self._process.returncode is not None else -9
            self._reap(self._process)
        if self._sentinel is not None:
            self._sentinel.close()
            self._sentinel = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self.workdir = None
        return code

    def _reap(self, process: subprocess.Popen) -> None:
        """Kill what is left of ``process``'s group (its stubs), wait for it, remove its shm."""
        guard.kill_group(process.pid)
        if self._sentinel is not None:
            self._sentinel.watch(0)  # before the pid can be reused by another process group
        process.wait()
        guard.reap_orphans()
        guard.remove_shm(self.shm_prefix)

    @property
    def returncode(self) -> Optional[int]:
        """tritonserver's exit status once it ended (negative: the signal that ended it)."""
        return None if self._process is None else self._process.poll()

    def __enter__(self) -> "TritonServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
