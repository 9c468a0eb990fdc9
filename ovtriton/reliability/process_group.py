"""Resident memory and CPU time of a process group (tritonserver and its Python backend stubs).

tritonserver is started in a new session, so the server and every stub it forks share one
process group; psutil reads each member.
"""

from __future__ import annotations

import os

import psutil


def members(pgid: int) -> list[psutil.Process]:
    """Live processes whose process group is ``pgid``."""
    found = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid:
                found.append(process)
        except (ProcessLookupError, PermissionError):
            continue
    return found


def group_rss(pgid: int) -> tuple[int, int]:
    """(total resident bytes, number of processes) of the group; a process gone counts 0."""
    processes = members(pgid)
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total, len(processes)


def cpu_by_process(pgid: int) -> dict[int, float]:
    """pid -> user + system CPU seconds (all its threads) of every live process of the group."""
    found = {}
    for process in members(pgid):
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        found[process.pid] = times.user + times.system
    return found


def group_cpu_s(pgid: int) -> float:
    """User + system CPU seconds of every live process of the group (all its threads)."""
    return sum(cpu_by_process(pgid).values())
