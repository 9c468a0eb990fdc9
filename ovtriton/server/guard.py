"""Make sure ovtriton only ever talks to its own tritonserver and leaves nothing behind.

- Ports are checked free before start (tritonserver's gRPC endpoint binds with SO_REUSEPORT, so
  a second server on a busy port would start and share the port with the first one).
- Each start gets its own ``--id``; ``GET /v2`` (``TritonAdmin.verify``) must answer with it
  before ovtriton trusts the port (readiness, the watchdog's reloads).
- tritonserver gets SIGKILL when the thread that started it dies (``PR_SET_PDEATHSIG``); a
  ``Sentinel`` (a tiny ``sh`` child in its own session) SIGKILLs tritonserver's whole process
  group, its Python backend stubs included, when the process that started it dies (even by
  ``kill -9``): a stub does not notice its parent's death while that parent is a zombie nobody
  reaps (a container whose pid 1 does not reap), and stayed alive for minutes.
- tritonserver runs with SIGCHLD ignored, so the kernel reaps its stubs when they die (Triton
  2.51 leaves a crashed stub a zombie).
- ``serve`` makes itself a child subreaper (``PR_SET_CHILD_SUBREAPER``, ``become_subreaper``):
  stubs orphaned by a crashed tritonserver become its children and ``reap_orphans`` collects
  them. A process that merely uses ``TritonServer`` (a test, a library user) is left as it is:
  being a subreaper makes a process the parent of every orphaned descendant, which it would
  have to reap.
- Files a killed ``serve`` could not remove carry its pid (``/dev/shm/ovtriton<pid>_*``,
  ``$TMPDIR/ovtriton-<pid>-*``); the next start removes those of pids that no longer exist.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable, Optional

import psutil

from ovtriton.errors import UserError

LOGGER = logging.getLogger(__name__)

SHM_DIR = Path("/dev/shm")
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_STUB_COMM = "triton_python_b"  # /proc/PID/comm of triton_python_backend_stub (15 chars)
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
    """preexec_fn: SIGKILL this child when the thread that forked it exits; its own children
    (Python backend stubs) are reaped by the kernel (SIGCHLD ignored, inherited across exec),
    so a stub that dies is not left a zombie tritonserver never waits for."""
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(126)
    libc.signal(signal.SIGCHLD, ctypes.c_void_p(1))  # SIG_IGN
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(126)


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


class Sentinel:
    """A ``sh`` child that SIGKILLs the process group last given to ``watch`` when this process
    dies: its stdin is a pipe only this process holds, so ``read`` ends when this process
    ends, however it ends. Own session: a signal to this process's group does not reach it."""

    _SCRIPT = (
        'trap "" INT TERM HUP; g=0; while read -r line; do g=$line; done; '
        '[ "$g" -gt 0 ] 2>/dev/null && kill -9 "-$g" 2>/dev/null; exit 0'
    )

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process

    @classmethod
    def start(cls) -> "Sentinel":
        process = subprocess.Popen(
            ["sh", "-c", cls._SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        return cls(process)

    def watch(self, pgid: int) -> None:
        """Kill process group ``pgid`` when this process dies (0: none)."""
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(f"{pgid}\n".encode())
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:  # the sentinel was killed
            LOGGER.warning(
                "the process-group sentinel is gone (%s); a kill -9 of this process "
                "may leave tritonserver's stubs behind",
                exc,
            )

    def close(self) -> None:
        self.watch(0)
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def become_subreaper() -> None:
    """Orphaned descendants (stubs of a crashed tritonserver) become children of this process."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        LOGGER.debug("PR_SET_CHILD_SUBREAPER failed: errno %d", ctypes.get_errno())


def reap_orphans(timeout: float = 5.0) -> list[int]:
    """Wait for children that are orphaned Python backend stubs (adopted as subreaper, then
    SIGKILLed with their group); never for other children, whose status belongs to whoever
    started them."""
    stubs = []
    for child in psutil.Process().children():
        try:
            if child.name().startswith(_STUB_COMM):
                stubs.append(child)
        except psutil.NoSuchProcess:
            continue
    gone, alive = psutil.wait_procs(stubs, timeout=timeout)  # waitpid: reaps them
    for process in alive:
        LOGGER.warning("an orphaned stub (pid %d) did not end", process.pid)
    return [p.pid for p in gone]


def kill_group(pgid: int) -> None:
    """Remove anything left of the server's process group (e.g. Python backend stubs)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def remove_shm(prefix: str) -> None:
    """Delete shared-memory files Triton left behind: it skips its clean-up when its exit
    timeout expires (e.g. clients keep HTTP connections open) and a killed stub never cleans."""
    for path in SHM_DIR.glob(f"{prefix}*"):
        try:
            path.unlink()
            LOGGER.debug("removed stale %s", path)
        except OSError:
            pass
