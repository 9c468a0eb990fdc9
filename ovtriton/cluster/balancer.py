"""nginx in front of the replicas: HTTP (proxy_pass) and gRPC (grpc_pass over HTTP/2).

Health is passive (open-source nginx has no active checks): a replica that refuses or breaks a
connection is retried on the next one (``*_next_upstream``) and left out for ``fail_timeout``.
Inference on stateless models is idempotent, so a request whose connection broke after it was
sent is retried too (``non_idempotent``); sequence models would need sticky routing instead.
A replica is taken out of rotation before it drains the way Kubernetes removes a terminating pod
from its Service: its upstream line gets ``down`` and nginx reloads gracefully (SIGHUP).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import psutil

from ovtriton.errors import UserError
from ovtriton.server.ports import Ports

LOGGER = logging.getLogger(__name__)

FAIL_TIMEOUT = 5  # seconds a failed replica is left out (passive health)
LOG_FORMAT = (
    '$msec $server_port $status "$upstream_addr" "$upstream_status" $request_time'
    ' "$upstream_response_time"'
)

TEMPLATE = """# written by ovtriton cluster
{user}worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  log_format cluster '{log_format}';
  access_log {workdir}/access.log cluster;
  client_body_temp_path {workdir}/tmp/body;
  proxy_temp_path {workdir}/tmp/proxy;
  fastcgi_temp_path {workdir}/tmp/fastcgi;
  uwsgi_temp_path {workdir}/tmp/uwsgi;
  scgi_temp_path {workdir}/tmp/scgi;
  client_max_body_size 0;
  upstream triton_http {{
{http_servers}
    keepalive 32;
  }}
  upstream triton_grpc {{
{grpc_servers}
    keepalive 32;
  }}
  server {{
    listen {host}:{http_port};
    location / {{
      proxy_pass http://triton_http;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout 2s;
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;
      proxy_next_upstream_tries 3;
    }}
  }}
  server {{
    listen {host}:{grpc_port} http2;
    location / {{
      grpc_pass grpc://triton_grpc;
      grpc_connect_timeout 2s;
      grpc_next_upstream error timeout http_502 http_503 non_idempotent;
      grpc_next_upstream_tries 3;
    }}
  }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if found is None:
        raise UserError("nginx is not installed: `apt-get install -y nginx` (make install does it)")
    return found


@dataclass
class Balancer:
    """nginx listening on ``ports.http``/``ports.grpc`` of ``host`` in front of ``replicas``."""

    workdir: Path
    replicas: Sequence[Ports]
    host: str = "127.0.0.1"
    ports: Ports = field(default_factory=Ports.free)
    down: set[int] = field(default_factory=set)  # indexes of replicas out of rotation
    _process: Optional[subprocess.Popen] = field(default=None, init=False, repr=False)

    @property
    def http_url(self) -> str:
        return f"{self.host}:{self.ports.http}"

    @property
    def grpc_url(self) -> str:
        return f"{self.host}:{self.ports.grpc}"

    @property
    def pid(self) -> int:
        """nginx master's pid (0 when not running)."""
        return self._process.pid if self._process is not None else 0

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"

    def config(self) -> str:
        def lines(kind: str) -> str:
            return "\n".join(
                f"    server {self.host}:{getattr(p, kind)} max_fails=1 "
                f"fail_timeout={FAIL_TIMEOUT}s{' down' if i in self.down else ''};"
                for i, p in enumerate(self.replicas)
            )

        return TEMPLATE.format(
            # As root the workers would run as nobody, who cannot enter a private workdir.
            user="user root;\n" if os.geteuid() == 0 else "",
            workdir=self.workdir,
            log_format=LOG_FORMAT,
            http_servers=lines("http"),
            grpc_servers=lines("grpc"),
            host=self.host,
            http_port=self.ports.http,
            grpc_port=self.ports.grpc,
        )

    def _write(self) -> Path:
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.workdir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        path = self.workdir / "nginx.conf"
        path.write_text(self.config(), encoding="utf-8")
        return path

    def start(self, timeout: float = 20.0) -> "Balancer":
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self._write()
        binary = nginx_binary()
        check = subprocess.run([binary, "-t", "-c", str(path)], capture_output=True, text=True)
        if check.returncode != 0:
            raise UserError(f"nginx rejected {path}:\n{check.stderr.strip()}")
        self._process = subprocess.Popen(
            [binary, "-c", str(path), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "stderr.log", "ab"),
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self.owns_ports():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise UserError(f"nginx did not start; see {self.workdir / 'error.log'}")
            time.sleep(0.1)
        LOGGER.info(
            "nginx (pid %d): HTTP %s, gRPC %s", self._process.pid, self.http_url, self.grpc_url
        )
        return self

    def owns_ports(self) -> bool:
        """True when our nginx master (or its workers) listens on both ports."""
        if self._process is None:
            return False
        try:
            master = psutil.Process(self._process.pid)
            family = [master, *master.children()]
            listening = {
                c.laddr.port
                for p in family
                for c in p.net_connections(kind="inet")
                if c.status == psutil.CONN_LISTEN
            }
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False
        return {self.ports.http, self.ports.grpc} <= listening

    def workers(self) -> set[int]:
        if self._process is None:
            return set()
        try:
            return {p.pid for p in psutil.Process(self._process.pid).children()}
        except psutil.NoSuchProcess:
            return set()

    def set_down(self, index: int, down: bool, timeout: float = 30.0) -> float:
        """Take replica ``index`` out of rotation (or back); returns the seconds nginx took
        until every old worker (and so every request it was proxying) had finished."""
        (self.down.add if down else self.down.discard)(index)
        self._write()
        old = self.workers()
        started = time.monotonic()
        if self._process is None or not self.owns_ports():
            raise UserError("nginx of the cluster is not running")
        os.kill(self._process.pid, signal.SIGHUP)
        while time.monotonic() - started < timeout:
            current = self.workers()
            if current and not (current & old):
                return time.monotonic() - started
            time.sleep(0.05)
        raise UserError(f"nginx did not finish its reload within {timeout:.0f} s")

    def stop(self, timeout: float = 10.0) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGQUIT)  # graceful: finish the open requests
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                LOGGER.warning("nginx did not stop within %.0f s; killing it", timeout)
        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._process.wait()
        self._process = None

    def __enter__(self) -> "Balancer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
