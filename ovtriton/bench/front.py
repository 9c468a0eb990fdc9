"""``ovtriton bench --tfs``: the TFS front against Triton's own gRPC, in the same run.

The bench's workload (the OVMS config converted, random inputs of the pipeline's shapes), its
closed-loop worker pool and its statistics; three modes interleaved, their order rotated every
round: TFS ``Predict`` on the front's gRPC port (``tfs_grpc``), KServe through the front's gRPC
port (``kserve_front``) and KServe on Triton's own gRPC port (``triton_grpc``). The issue's
goals: TFS p50 at concurrency 1 ≤ 1.10 × Triton's, TFS throughput at concurrency 8 ≥ 0.90 ×.
A fourth mode, ``tfs_shm_grpc``, is TFS ``Predict`` on a second front that passes tensors to
Triton through system shared memory (``FrontConfig.shared_memory``) instead of a second gRPC
copy. Each front runs in a process of its own, as in ``serve`` (the clients never share its
GIL). CPU per inference counts tritonserver with its stubs, the mode's front process and this
one (the clients), split by stage (``cpu_split.py``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from ovtriton.converter.options import ConversionOptions
from ovtriton.errors import UserError
from ovtriton.seed import repository
from ovtriton.seed.ovms_ports import OvmsPorts, verify
from ovtriton.server import guard
from ovtriton.server.process import Ports, TritonServer
from ovtriton.tfs.client import TfsClient
from ovtriton.tfs.front import FrontConfig, TfsFront

from . import cpu_split
from .load import CpuMeter, WorkerPool
from .remote import Ensemble
from .stats import CellStats, Sample, summarize
from .workload import prepare

TFS, KSERVE_FRONT, TRITON = "tfs_grpc", "kserve_front", "triton_grpc"
TFS_SHM = "tfs_shm_grpc"
MODES = (TFS, TFS_SHM, KSERVE_FRONT, TRITON)
LATENCY_GOAL, THROUGHPUT_GOAL = 1.10, 0.90


class TfsPredict:
    """One TFS Predict per call, inputs in ``tensor_content`` (the seed client's encoding)."""

    def __init__(self, url: str, model: str, outputs: list[str]) -> None:
        self.client = TfsClient(url, timeout=120)
        self.model = model
        self.outputs = outputs

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self.client.send_raw(self.model, self.client.request(inputs, self.outputs))

    def close(self) -> None:
        self.client.close()


@dataclass(frozen=True)
class FrontBench:
    cells: list[CellStats]
    latency: tuple[int, Optional[float]]  # concurrency, TFS p50 / Triton p50
    throughput: tuple[int, Optional[float]]  # concurrency, TFS req/s / Triton req/s

    def lines(self) -> list[str]:
        rows = [
            f"{'mode':<14}{'conc':>5}{'requests':>9}{'p50 ms':>9}{'p90 ms':>9}"
            f"{'req/s':>9}{'CPU ms/req':>12}  CPU ms/req by stage"
        ]
        for c in sorted(self.cells, key=lambda c: (c.concurrency, MODES.index(c.mode))):
            rows.append(
                f"{c.mode:<14}{c.concurrency:>5}{c.requests:>9}{c.p50_ms:>9.2f}{c.p90_ms:>9.2f}"
                f"{c.throughput:>9.1f}{c.cpu_ms_per_inference:>12.2f}  "
                f"{cpu_split.describe(c.cpu_ms_by_stage)}"
            )
        for what, (conc, ratio), goal, sign in (
            ("p50", self.latency, LATENCY_GOAL, "<="),
            ("throughput", self.throughput, THROUGHPUT_GOAL, ">="),
        ):
            held = ratio is not None and (ratio <= goal if sign == "<=" else ratio >= goal)
            shown = f"{ratio:.2f}" if ratio is not None else "n/a"
            rows.append(
                f"TFS/Triton {what} at concurrency {conc}: {shown} x (goal {sign} {goal:.2f}: "
                f"{'held' if held else 'NOT held'})"
            )
            field = "p50_ms" if what == "p50" else "throughput"
            shm = _ratio(self.cells, conc, field, TFS_SHM)
            if shm is not None:
                rows.append(f"  the same with shared memory (tfs_shm_grpc): {shm:.2f} x")
        return rows


def run_front_bench(
    config: Optional[Path],
    pipeline: str,
    rounds: int,
    duration_s: float,
    concurrencies: tuple[int, int] = (1, 8),
    work: Optional[Path] = None,
    say: Callable[[str], None] = print,
    options: ConversionOptions = ConversionOptions(),
) -> FrontBench:
    with tempfile.TemporaryDirectory(prefix="ovtriton-bench-tfs-") as tmp:
        folder = work or Path(tmp)
        config = config or repository.prepare(folder / "model_repository")
        say(f"converting {config} (pipeline {pipeline}) into {folder / 'triton'}")
        workload = prepare(config, pipeline, folder, 1, options)
        samples = _measure(workload, rounds, duration_s, concurrencies, folder, say)
    cells = summarize(samples)
    low, high = concurrencies
    return FrontBench(
        cells,
        (low, _ratio(cells, low, "p50_ms")),
        (high, _ratio(cells, high, "throughput")),
    )


def _measure(
    workload: Any,
    rounds: int,
    duration_s: float,
    concurrencies: tuple[int, int],
    folder: Path,
    say: Callable[[str], None],
) -> list[Sample]:
    dag = workload.dag
    inputs = dag.sample(1, seed=1)
    outputs = [t.name for t in dag.outputs]
    server = TritonServer(workload.repository, ports=Ports.free(), workdir=folder / "server")
    samples: list[Sample] = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(server)
        front, front_pid = stack.enter_context(front_process(server))
        shm_front, shm_front_pid = stack.enter_context(front_process(server, shared_memory=True))
        broken = [f"{m.name}: {m.reason}" for m in server.models() if m.state != "READY"]
        if broken:
            raise UserError("models did not load: " + "; ".join(broken))
        say(f"Triton gRPC {server.grpc_url}, TFS front gRPC {front.grpc_url}")
        factories: dict[str, Callable[[], Any]] = {
            TFS: lambda: TfsPredict(front.grpc_url, dag.name, outputs),
            TFS_SHM: lambda: TfsPredict(shm_front.grpc_url, dag.name, outputs),
            KSERVE_FRONT: lambda: Ensemble(front.grpc_url, "grpc", dag),
            TRITON: lambda: Ensemble(server.grpc_url, "grpc", dag),
        }
        meter = CpuMeter(server.pid, front_pid)
        meters = {mode: meter for mode in MODES} | {TFS_SHM: CpuMeter(server.pid, shm_front_pid)}
        pool = WorkerPool(max(concurrencies))
        try:
            for round_ in range(rounds):
                for concurrency in concurrencies:
                    shift = round_ + concurrency
                    order = MODES[shift % len(MODES) :] + MODES[: shift % len(MODES)]
                    for mode in order:
                        samples.append(
                            pool.run(
                                mode,
                                mode,
                                factories[mode],
                                inputs,
                                1,
                                concurrency,
                                duration_s,
                                meters[mode],
                            )  # fmt: skip
                        )
                    say(
                        f"round {round_ + 1}/{rounds} concurrency {concurrency}: "
                        + ", ".join(
                            f"{s.mode} {np.median(s.latencies_ms):.2f} ms"
                            for s in samples[-len(MODES) :]
                        )
                    )
        finally:
            pool.close()
    return samples


@contextlib.contextmanager
def front_process(
    server: TritonServer, shared_memory: bool = False
) -> Iterator[tuple[OvmsPorts, int]]:
    """The front in a child process on free ports, verified to reach ``server``."""
    spare = Ports.free()
    ports = OvmsPorts(server.host, spare.http, spare.grpc)
    config = FrontConfig(
        server.host, ports.grpc, ports.rest, server.grpc_url, server.http_url,
        server.metrics_url, tuple(server.admin_headers.items()), shared_memory=shared_memory,
    )  # fmt: skip
    child = multiprocessing.get_context("spawn").Process(
        target=_serve_front, args=(config,), name="tfs-front", daemon=True
    )
    child.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                verify(ports, server.expected_id)
                break
            except (ConnectionError, UserError):
                if not child.is_alive() or time.monotonic() > deadline:
                    raise UserError(f"the TFS front did not start on {ports.grpc_url}") from None
                time.sleep(0.3)
        assert child.pid is not None
        yield ports, child.pid
    finally:
        child.terminate()
        child.join(timeout=10)


def _serve_front(config: FrontConfig) -> None:
    guard.die_with_parent()
    front = TfsFront(config)
    front.start()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    stopping.wait()  # until terminated; then release the front's shared-memory regions
    front.stop()


def _ratio(
    cells: list[CellStats], concurrency: int, field: str, mode: str = TFS
) -> Optional[float]:
    found = {c.mode: getattr(c, field) for c in cells if c.concurrency == concurrency}
    if mode not in found or not found.get(TRITON):
        return None
    return float(found[mode] / found[TRITON])
