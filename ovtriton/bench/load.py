"""Closed-loop load: N client threads, each sending its next request when the last one returns.

CPU use is the process CPU time (user + system, read with psutil) of tritonserver and its Python
stubs (its process group), this process (client threads and, in-process, OpenVINO) and the TFS
front's process if one runs, split by stage (``cpu_split.py``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Hashable, Mapping
from typing import Any, Callable, Optional

import numpy as np

from . import cpu_split
from .stats import Sample

LOGGER = logging.getLogger(__name__)

Call = Callable[[Mapping[str, np.ndarray]], object]


class CpuMeter:
    """CPU seconds of this process plus, if given, a server's process group and a front."""

    def __init__(self, server_pgid: Optional[int] = None, front_pid: Optional[int] = None) -> None:
        self.server_pgid = server_pgid
        self.front_pid = front_pid

    def read(self) -> cpu_split.Reading:
        return cpu_split.read_cpu(self.server_pgid, self.front_pid)


class WorkerPool:
    """Long-lived client threads; each creates and keeps its own sessions.

    Sessions never change threads: the HTTP client (gevent) only works in the thread that made
    it, and a session made once serves every round (connection set-up and shared-memory
    registration stay out of the timings).
    """

    def __init__(self, size: int) -> None:
        self._queues: list[queue.Queue] = [queue.Queue() for _ in range(size)]
        self._threads = [
            threading.Thread(target=self._serve, args=(q,), daemon=True, name=f"bench-{i}")
            for i, q in enumerate(self._queues)
        ]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _serve(jobs: queue.Queue) -> None:
        sessions: dict[Hashable, Any] = {}
        while True:
            job = jobs.get()
            if job is None:
                for session in sessions.values():
                    try:
                        getattr(session, "close", lambda: None)()
                    except Exception as exc:  # closing is best effort
                        LOGGER.debug("closing a session: %s", exc)
                return
            job(sessions)

    def run(
        self,
        mode: str,
        key: Hashable,
        factory: Callable[[], Call],
        inputs: Mapping[str, np.ndarray],
        batch: int,
        concurrency: int,
        duration_s: float,
        meter: CpuMeter,
    ) -> Sample:
        """Closed loop on ``concurrency`` workers for ``duration_s``; one warm-up call each first."""
        if concurrency > len(self._queues):
            raise ValueError(f"concurrency {concurrency} > {len(self._queues)} workers")
        latencies: list[list[float]] = [[] for _ in range(concurrency)]
        errors: list[BaseException] = []
        warm = threading.Barrier(concurrency + 1)
        start_line = threading.Barrier(concurrency + 1)
        finished = threading.Barrier(concurrency + 1)
        deadline = [0.0]

        def job(sessions: dict[Hashable, Any], mine: list[float]) -> None:
            try:
                if key not in sessions:
                    sessions[key] = factory()
                call = sessions[key]
                call(inputs)  # warm-up, untimed
            except BaseException as exc:  # reported after the round
                errors.append(exc)
            warm.wait()
            start_line.wait()
            while not errors:
                t0 = time.perf_counter()
                if t0 >= deadline[0]:
                    break
                try:
                    call(inputs)
                except BaseException as exc:
                    errors.append(exc)
                    break
                mine.append((time.perf_counter() - t0) * 1000.0)
            finished.wait()

        def guarded(sessions: dict[Hashable, Any], mine: list[float]) -> None:
            try:
                job(sessions, mine)
            except threading.BrokenBarrierError:  # the round was abandoned (e.g. Ctrl-C)
                pass

        for index in range(concurrency):
            self._queues[index].put(lambda sessions, mine=latencies[index]: guarded(sessions, mine))
        try:
            warm.wait()  # every warm-up done: neither its time nor its CPU is counted
            cpu0 = meter.read()
            t0 = time.perf_counter()
            deadline[0] = t0 + duration_s
            start_line.wait()
            finished.wait()
        except BaseException:
            deadline[0] = 0.0
            for barrier in (warm, start_line, finished):
                barrier.abort()
            raise
        wall = time.perf_counter() - t0
        cpu = cpu_split.split(cpu0, meter.read())
        if errors:
            raise RuntimeError(
                f"{mode} (batch {batch}, concurrency {concurrency}) failed: {errors[0]}"
            )
        flat = [v for lat in latencies for v in lat]
        return Sample(mode, batch, concurrency, flat, wall, sum(cpu.values()), cpu)

    def close(self) -> None:
        for jobs in self._queues:
            jobs.put(None)
        for thread in self._threads:
            thread.join(timeout=30)
