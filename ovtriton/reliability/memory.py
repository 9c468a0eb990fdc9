"""Resident memory of a process group (tritonserver and its Python backend stubs), from /proc."""

from __future__ import annotations

import os
from pathlib import Path


def group_members(pgid: int) -> list[int]:
    """Pids whose process group is ``pgid`` (tritonserver is started in a new session)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getpgid(int(entry)) == pgid:
                members.append(int(entry))
        except (ProcessLookupError, PermissionError):
            continue
    return members


def rss_bytes(pid: int) -> int:
    """VmRSS of one process; 0 when it is gone or a zombie (no VmRSS line)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def group_rss(pgid: int) -> tuple[int, int]:
    """(total resident bytes, number of processes) of the group."""
    members = group_members(pgid)
    return sum(rss_bytes(pid) for pid in members), len(members)
