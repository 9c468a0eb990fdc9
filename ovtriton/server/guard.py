"""Make sure ovtriton only ever talks to its own tritonserver and leaves nothing behind.

- Ports are checked free before start (tritonserver's gRPC endpoint binds with SO_REUSEPORT, so
  a second server on a busy port would start and share the port with the first one).
- Each start gets its own ``--id``; ``GET /v2`` must answer with it before ovtriton trusts the
  port (readiness, the watchdog's reloads).
- tritonserver gets SIGKILL when the thread that started it dies (``PR_SET_PDEATHSIG``); its
  Python backend stubs follow their parent by themselves.
- Files a killed ``serve`` could not remove carry its pid (``/dev/shm/ovtriton<pid>_*``,
  ``$TMPDIR/ovtriton-<pid>-*``); the next start removes those of pids that no longer exist.
"""

from __future__ import annotations

import ctypes
import errno
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable, Optional

import psutil

from ovtriton.errors import UserError

LOGGER = logging.getLogger(__name__)

SHM_DIR = Path("/dev/shm")
_PR_SET_PDEATHSIG = 1
_SHM_MARK = re.compile(r"^ovtriton(\d+)_")
_TMP_MARK = re.compile(r"^ovtriton-(?:serve-)?(\d+)-")


def new_server_id() -> str:
    return f"ovtriton-{os.getpid()}-{secrets.token_hex(4)}"


def shm_prefix(port: int) -> str:
    """Prefix of the Python backend's /dev/shm files for a server started by this process."""
    return f"ovtriton{os.getpid()}_{port}_"


def temp_prefix(kind: str = "") -> str:
    return f"ovtriton-{kind}{os.getpid()}-"


def check_ports_free(host: str, ports: Iterable[tuple[str, int]]) -> None:
    """Raise UserError naming the first busy port and, when the OS tells, who holds it."""
    for what, port in ports:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise UserError(f"cannot use {what} port {port} on {host}: {exc.strerror}")
                raise UserError(
                    f"{what} port {port} on {host} is already in use{holder(port)}; "
                    f"stop that process or choose another port ({_flag(what)})"
                ) from None


def _flag(what: str) -> str:
    """The option that moves the port called ``what`` (serve's own, or OVMS's spelling)."""
    return {"OVMS gRPC": "--port", "OVMS REST": "--rest_port"}.get(what, f"--{what.lower()}-port")


def holder(port: int) -> str:
    """`` by <name> (pid N): <command line>`` for the listener of ``port``, when visible."""
    try:
        connections = psutil.net_connections(kind="inet")
    except (psutil.AccessDenied, OSError):
        return ""
    for c in connections:
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid:
            try:
                process = psutil.Process(c.pid)
                command = " ".join(process.cmdline())[:200]
                return f" by {process.name()} (pid {c.pid}): {command}"
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                return f" by pid {c.pid}"
    return ""


def die_with_parent() -> None:
    """preexec_fn: SIGKILL this child when the thread that forked it exits."""
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(126)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(126)


def server_name(http_url: str, timeout: float = 2.0) -> Optional[str]:
    """The ``name`` ``GET /v2`` answers with (the server's --id), None when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://{http_url}/v2", timeout=timeout) as response:
            return str(json.loads(response.read()).get("name"))
    except (OSError, ValueError, urllib.error.URLError):
        return None


def verify(http_url: str, expected: str) -> None:
    """Raise UserError when another server answers on ``http_url`` (ConnectionError: none)."""
    name = server_name(http_url)
    if name is None:
        raise ConnectionError(f"no server answers GET /v2 on {http_url}")
    if name != expected:
        raise UserError(
            f"the server answering on {http_url} is {name!r}, not ovtriton's {expected!r}; "
            "another process took the port"
        )


def remove_leftovers(shm_dir: Path = SHM_DIR, tmp_dir: Optional[Path] = None) -> list[Path]:
    """Delete shm files and temp folders marked with the pid of a process that is gone."""
    removed = []
    places = ((shm_dir, _SHM_MARK), (Path(tmp_dir or tempfile.gettempdir()), _TMP_MARK))
    for folder, mark in places:
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for path in entries:
            match = mark.match(path.name)
            if match is None or psutil.pid_exists(int(match.group(1))):
                continue
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            except OSError as exc:
                LOGGER.debug("could not remove %s: %s", path, exc)
                continue
            removed.append(path)
    if removed:
        LOGGER.info("removed %d file(s) left by ovtriton processes that are gone", len(removed))
    return removed
