"""Hide the admin key from other local users: overwrite it in tritonserver's command line.

tritonserver 2.51 takes its restriction key only as an argument
(``--http-restricted-api=...:ovtriton-admin-key=KEY``): no option file, no environment
variable. Every local user can read ``/proc/PID/cmdline``. The kernel reads that file from
the process's own memory (the area between ``arg_start`` and ``arg_end`` of
``/proc/PID/stat``), and tritonserver copies its options into its own strings while parsing
them, first thing in ``main``, before it starts any thread. So once the process has a second
thread, the process that started it (allowed to write ``/proc/PID/mem`` as its parent, as
the same user) overwrites the key there with ``*``: ``ps`` and ``/proc/PID/cmdline`` show
``ovtriton-admin-key=****``, tritonserver keeps checking the real key.

What remains: the key is readable in ``/proc/PID/cmdline`` from ``execve`` until the first
thread starts (about 20 ms, dynamic loading); a local user polling ``/proc`` at that moment
can catch it. Mounting ``/proc`` with ``hidepid=invisible`` (or one user per container)
removes that too. ``/proc/PID/environ`` and ``/proc/PID/mem`` are readable by the same user
and root only.

Also a command: ``python -m ovtriton.server.hide_key PID`` with the keys (space separated) in
``$OVTRITON_HIDE_KEYS`` waits until PID runs tritonserver and hides them
(``docker/entrypoint.sh`` runs it just before it execs tritonserver in its own place).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Iterable, Optional, Sequence

LOGGER = logging.getLogger(__name__)

ENV_VAR = "OVTRITON_HIDE_KEYS"
MASK = b"*"


def _stat_fields(pid: int) -> list[str]:
    # Fields after the command name (which may hold spaces): field 3 is index 0.
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def arg_area(pid: int) -> tuple[int, int]:
    """The address range of ``pid``'s command line (``arg_start``, ``arg_end``: fields 48, 49)."""
    fields = _stat_fields(pid)
    return int(fields[45]), int(fields[46])


def threads(pid: int) -> int:
    return int(_stat_fields(pid)[17])  # field 20: num_threads


def wait_parsed(pid: int, timeout: float = 60.0, binary: Optional[str] = None) -> bool:
    """Wait until ``pid`` (running ``binary`` when given) has more than one thread: it has
    parsed its options. False when it ended or the time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ready = binary is None or os.readlink(f"/proc/{pid}/exe").endswith(binary)
            if ready and threads(pid) > 1:
                return True
        except (OSError, IndexError, ValueError):
            return False
        time.sleep(0.001)
    return False


def hide(pid: int, secrets: Iterable[str]) -> int:
    """Overwrite every occurrence of ``secrets`` in ``pid``'s command line; how many."""
    wanted = [s.encode() for s in secrets if s]
    if not wanted:
        return 0
    start, end = arg_area(pid)
    with open(f"/proc/{pid}/mem", "r+b", buffering=0) as mem:
        mem.seek(start)
        area = mem.read(end - start)
        hidden = area
        for secret in wanted:
            hidden = hidden.replace(secret, MASK * len(secret))
        if hidden == area:
            return 0
        mem.seek(start)
        mem.write(hidden)
    return sum(area.count(secret) for secret in wanted)


def hide_when_parsed(pid: int, secrets: Sequence[str], binary: Optional[str] = None) -> bool:
    """``wait_parsed`` then ``hide``; a failure is logged (the key stays visible), not raised."""
    if not [s for s in secrets if s]:
        return True
    if not wait_parsed(pid, binary=binary):
        LOGGER.warning("tritonserver (pid %d) ended before its admin key could be hidden", pid)
        return False
    try:
        count = hide(pid, secrets)
    except OSError as exc:
        LOGGER.warning(
            "cannot hide the admin key in tritonserver's command line (pid %d): %s; other "
            "local users can read it with ps",
            pid,
            exc.strerror or exc,
        )
        return False
    LOGGER.debug("hid %d admin key(s) in the command line of pid %d", count, pid)
    return True


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m ovtriton.server.hide_key PID  (keys in $OVTRITON_HIDE_KEYS)")
        return 2
    secrets = os.environ.get(ENV_VAR, "").split()
    return 0 if hide_when_parsed(int(args[0]), secrets, binary="tritonserver") else 1


if __name__ == "__main__":
    sys.exit(main())
