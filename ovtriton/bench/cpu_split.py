"""Where the CPU of a bench round goes: client, Triton, stubs and front, per inference.

A *reading* is the CPU seconds (user + system, every thread) of each process taking part, keyed
by (stage, pid): ``client`` is this process (the load threads; in-process modes also run the
DAG here), ``triton`` the tritonserver process (the leader of its process group: it is started
in a new session), ``stubs`` every other member of that group (the Python backend stubs, one per
model instance), ``front`` the TFS front's process when one runs. A round's split is the
difference of two readings per process: a process that appears during the round counts all its
CPU, one that ends during the round counts nothing (its last CPU time cannot be read).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Optional

import psutil

from ovtriton.reliability.process_group import cpu_by_process

CLIENT, TRITON, STUBS, FRONT = "client", "triton", "stubs", "front"
STAGES = (CLIENT, TRITON, STUBS, FRONT)

Reading = dict[tuple[str, int], float]  # (stage, pid) -> CPU seconds so far


def read_cpu(server_pgid: Optional[int] = None, front_pid: Optional[int] = None) -> Reading:
    """CPU seconds of this process, the server's process group and the front's process."""
    reading: Reading = {(CLIENT, os.getpid()): sum(os.times()[:2])}
    if server_pgid:
        for pid, seconds in cpu_by_process(server_pgid).items():
            reading[(TRITON if pid == server_pgid else STUBS, pid)] = seconds
    if front_pid:
        try:
            times = psutil.Process(front_pid).cpu_times()
            reading[(FRONT, front_pid)] = times.user + times.system
        except psutil.Error:
            pass  # the front ended: it counts nothing from here
    return reading


def split(before: Reading, after: Reading) -> dict[str, float]:
    """CPU seconds per stage between two readings (only the stages that took part)."""
    stages: dict[str, float] = {}
    for key, seconds in after.items():
        stage = key[0]
        stages[stage] = stages.get(stage, 0.0) + max(0.0, seconds - before.get(key, 0.0))
    return stages


def per_inference_ms(seconds: Mapping[str, float], inferences: int) -> dict[str, float]:
    """Milliseconds of CPU per inference, per stage, in ``STAGES`` order."""
    if inferences <= 0:
        return {}
    return {s: 1000.0 * seconds[s] / inferences for s in STAGES if s in seconds}


def describe(ms: Mapping[str, float]) -> str:
    """``client 1.20 / triton 2.10 / stubs 0.90`` (the stages present)."""
    return " / ".join(f"{stage} {ms[stage]:.2f}" for stage in STAGES if stage in ms) or "-"
