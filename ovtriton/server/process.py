"""Run tritonserver as a child process: start, wait until it answers, stop without orphans."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

from ovtriton.errors import UserError
from ovtriton.server import embedded, guard
from ovtriton.server.admin import AdminAccess
from ovtriton.server.embedded import MALLOC_TUNING
from ovtriton.server.http_guard import HttpEntrance
from ovtriton.server.ports import Ports, client_host
from ovtriton.server.remote import RemoteRepository, check_reachable
from ovtriton.server.stubs import StubWatchdog

LOGGER = logging.getLogger(__name__)

SHM_DIR = guard.SHM_DIR
__all__ = ["EXPLICIT_MODE_ARGS", "MALLOC_TUNING", "SHM_DIR", "ModelState", "Ports", "TritonServer"]
SUMMARIES = "--metrics-config=summary_latencies=true"  # on by default (OVMS's are histograms)
# Explicit model control lets the stub watchdog reload a model (`*`: all at start); Triton
# drains on SIGTERM for EXIT_TIMEOUT s (its default 30 s is spent in full whenever a client
# keeps an idle keep-alive connection open; requests running longer are cut).
EXPLICIT_MODE_ARGS = ("--model-control-mode=explicit", "--load-model=*")
EXIT_TIMEOUT = 5


def _unless_given(arg: str, key: str, given: Sequence[str]) -> list[str]:
    """``[arg]``, or nothing when the operator's own arguments (after ``--``) mention ``key``."""
    return [] if any(key in a for a in given) else [arg]


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
    def admin_headers(self) -> dict[str, str]:
        """Headers (gRPC: metadata) a client sends to use the control APIs of this server."""
        return self.admin.headers(self.extra_args)

    @property
    def expected_id(self) -> str:
        """What ``GET /v2`` answers as "name": ours, or the operator's own ``--id``."""
        ids = [a.partition("=")[2] for a in self.extra_args if a.startswith("--id=")]
        return ids[-1] if ids else self.server_id

    def _mode_args(self) -> tuple[str, ...]:
        chosen = any(a.startswith("--model-control-mode") for a in self.extra_args)
        return EXPLICIT_MODE_ARGS if self.revive_stubs and not chosen else ()

    def _explicit(self) -> bool:
        modes = [
            a.partition("=")[2]
            for a in (*self._mode_args(), *self.extra_args)
            if a.startswith("--model-control-mode=")
        ]
        return bool(modes) and modes[-1] == "explicit"

    def command(self, backend_dir: Path, installation: embedded.Installation) -> list[str]:
        return [
            str(installation.binary),
            f"--model-repository={self._repository_arg()}",
            f"--backend-directory={backend_dir}",  # never with a trailing slash
            f"--cache-directory={installation.caches}",
            *self.http_entrance.flags(self.host, self.ports.http),
            *embedded.max_input_size_flag(installation, self.extra_args),
            f"--grpc-address={self.host}",
            f"--grpc-port={self.ports.grpc}",
            f"--metrics-address={self.host}",
            f"--metrics-port={self.ports.metrics}",
            # Latency quantiles (nv_*_summary_us) on, unless the operator chose after `--`.
            *_unless_given(SUMMARIES, "summary_latencies", self.extra_args),
            # One broken model must not take the others down (OVMS skips invalid servables).
            "--exit-on-error=false",
            *_unless_given(
                f"--exit-timeout-secs={EXIT_TIMEOUT}", "--exit-timeout", self.extra_args
            ),
            # Unique shared-memory names so several servers can share /dev/shm.
            f"--backend-config=python,shm-region-prefix-name={self.shm_prefix}",
            f"--id={self.server_id}",
            *self.admin.flags(self.extra_args),
            *self._mode_args(),
            *self.extra_args,
        ]

    def _repository_arg(self) -> str:
        if isinstance(self.repository, RemoteRepository):
            return self.repository.triton_url
        return str(self.repository)

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
        backend_dir = embedded.assemble_backend_dir(installation, self.workdir / "backends")
        if self.log_path is None:
            self.log_path = self.workdir / "tritonserver.log"
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
        try:
            self.wait_ready()
            self.http_entrance.start(self.host, self.ports.http)
            if self.revive_stubs and self._explicit():
                self.watchdog = StubWatchdog(
                    self._process.pid,
                    self.http_url,
                    headers=self.admin_headers,
                    verify=self.verify,
                ).start()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self) -> None:
        """Wait until the server is live and has finished loading its models."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise UserError(
                    f"tritonserver exited with code {self._process.returncode} during start-up:\n"
                    + self.log_tail()
                )
            if _get(f"http://{self.http_url}/v2/health/live") == 200:
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
        guard.verify(self.http_url, self.expected_id)

    def is_ready(self) -> bool:
        return _get(f"http://{self.http_url}/v2/health/ready") == 200

    def models(self) -> list[ModelState]:
        """Every model of the repository with its state and, for a failed one, why."""
        request = urllib.request.Request(
            f"http://{self.http_url}/v2/repository/index",
            data=b"{}",
            method="POST",
            headers=self.admin_headers,
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            index = json.loads(response.read())
        return [
            ModelState(
                m["name"], m.get("version", ""), m.get("state", "UNKNOWN"), m.get("reason", "")
            )
            for m in index
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
            guard.kill_group(self._process.pid)
            self._process.wait()
            guard.remove_shm(self.shm_prefix)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self.workdir = None
        return code

    def __enter__(self) -> "TritonServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, urllib.error.URLError):
        return 0
