"""A bounded soak on loopback: steady load on one model, per-interval figures, memory growth.

``concurrency`` client threads each send one request at a time (closed loop, gRPC or HTTP) for
``minutes``. Every ``interval`` seconds the requests, errors, p50/p99 latency and the resident
memory of tritonserver plus its stubs are recorded. Memory growth compares the last sample with
the first one after the warm-up. The soak fails when any request failed (or, for the built-in
model, returned a wrong output) or memory grew by more than ``max_growth_percent``.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from tritonclient.utils import InferenceServerException, triton_to_np_dtype

from ovtriton.client import Client, server_url
from ovtriton.reliability.process_group import group_rss
from ovtriton.server.process import Ports, TritonServer

LOGGER = logging.getLogger(__name__)

DEFAULT_MODEL = "soak_scale"
_WIDTH = 256  # the built-in model: y = 2 * x, x of shape [batch, 256] FP32


@dataclass(frozen=True)
class SoakSettings:
    minutes: float = 10.0
    concurrency: int = 8
    interval: float = 10.0  # seconds per reported interval
    warmup: float = 30.0  # seconds before the memory baseline is taken
    protocol: str = "grpc"
    repository: Optional[Path] = None  # None: a temporary repository with the built-in model
    model: str = DEFAULT_MODEL
    max_growth_percent: float = 5.0
    request_timeout: float = 30.0  # a request slower than this counts as an error (no hang)


@dataclass
class Interval:
    end_seconds: float
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    rss_mib: float
    processes: int


@dataclass
class SoakReport:
    settings: dict
    intervals: list[Interval] = field(default_factory=list)
    requests: int = 0
    errors: int = 0
    first_errors: list[str] = field(default_factory=list)
    rss_after_warmup_mib: float = 0.0
    rss_end_mib: float = 0.0
    growth_percent: float = 0.0

    @property
    def passed(self) -> bool:
        limit = self.settings["max_growth_percent"]
        return self.requests > 0 and self.errors == 0 and self.growth_percent <= limit


class _Tally:
    """What the client threads have done since the last interval (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors = 0
        self.first_errors: list[str] = []

    def add(self, seconds: float, error: Optional[str]) -> None:
        with self._lock:
            if error is None:
                self.latencies.append(seconds)
            else:
                self.errors += 1
                if len(self.first_errors) < 10:
                    self.first_errors.append(error)

    def take(self) -> tuple[list[float], int]:
        with self._lock:
            latencies, errors = self.latencies, self.errors
            self.latencies, self.errors = [], 0
        return latencies, errors


def run_soak(
    settings: SoakSettings, on_interval: Callable[[Interval], None] = lambda i: None
) -> SoakReport:
    with tempfile.TemporaryDirectory(prefix="ovtriton-soak-") as scratch:
        repository = settings.repository
        if repository is None:
            repository = Path(scratch) / "repository"
            write_builtin_model(repository)
        server = TritonServer(
            repository.resolve(), ports=Ports.free(), workdir=Path(scratch) / "server"
        )
        with server:
            return _drive(server, settings, on_interval)


def _drive(
    server: TritonServer, settings: SoakSettings, on_interval: Callable[[Interval], None]
) -> SoakReport:
    make_request = _request_maker(server, settings)
    tally, stop = _Tally(), threading.Event()
    threads = [
        threading.Thread(target=_client_loop, args=(make_request, tally, stop, i), daemon=True)
        for i in range(settings.concurrency)
    ]
    report = SoakReport(settings={**asdict(settings), "repository": str(settings.repository or "")})
    pgid = server.pid
    started = time.monotonic()
    deadline = started + settings.minutes * 60
    baseline: Optional[float] = None
    for thread in threads:
        thread.start()
    try:
        while time.monotonic() < deadline:
            time.sleep(max(0.0, min(settings.interval, deadline - time.monotonic())))
            latencies, errors = tally.take()
            rss, processes = group_rss(pgid)
            elapsed = time.monotonic() - started
            p50, p99 = (np.percentile(latencies, [50, 99]) * 1000) if latencies else (0.0, 0.0)
            interval = Interval(
                round(elapsed, 1),
                len(latencies) + errors,
                errors,
                round(float(p50), 2),
                round(float(p99), 2),
                round(rss / 2**20, 1),
                processes,
            )
            report.intervals.append(interval)
            on_interval(interval)
            if baseline is None and elapsed >= settings.warmup:
                baseline = interval.rss_mib
            if not server.running:
                report.first_errors.append("tritonserver exited during the soak")
                report.errors += 1
                break
    finally:
        stop.set()
        for thread in threads:
            thread.join(settings.request_timeout + 5)
    latencies, errors = tally.take()  # what finished after the last interval
    report.requests = sum(i.requests for i in report.intervals) + len(latencies) + errors
    report.errors += sum(i.errors for i in report.intervals) + errors
    report.first_errors = tally.first_errors + report.first_errors
    if baseline is None and report.intervals:  # shorter than the warm-up: first sample
        baseline = report.intervals[0].rss_mib
    report.rss_after_warmup_mib = baseline or 0.0
    report.rss_end_mib = report.intervals[-1].rss_mib if report.intervals else 0.0
    if baseline:
        report.growth_percent = round(100 * (report.rss_end_mib - baseline) / baseline, 2)
    return report


Request = Callable[[], Optional[str]]  # one inference; None when it succeeded, else the problem


def _client_loop(
    make_request: Callable[[int], Request], tally: _Tally, stop: threading.Event, seed: int
) -> None:
    request = make_request(seed)
    while not stop.is_set():
        start = time.perf_counter()
        try:
            problem = request()
        except InferenceServerException as exc:
            problem = f"{exc.status()}: {exc.message()}"
        except Exception as exc:  # a broken connection is an error of the soak, not a crash
            problem = f"{type(exc).__name__}: {exc}"
        tally.add(time.perf_counter() - start, problem)


def _request_maker(server: TritonServer, settings: SoakSettings) -> Callable[[int], Request]:
    url = server_url(server, settings.protocol)

    def make(seed: int) -> Request:
        rng = np.random.default_rng(seed)
        client = Client(url, settings.protocol, settings.request_timeout)
        metadata = client.metadata(settings.model)
        check = settings.repository is None  # the built-in model's answer is known: 2 * x

        def request() -> Optional[str]:
            tensors = {}
            for spec in metadata.inputs:
                # Variable dims: a random batch of 1-4 rows for the built-in model, else 1.
                shape = [
                    (int(rng.integers(1, 5)) if check else 1) if d < 0 else d for d in spec.shape
                ]
                tensors[spec.name] = rng.random(shape).astype(triton_to_np_dtype(spec.datatype))
            result = client.infer(settings.model, tensors)
            if check and not np.array_equal(result["y"], 2 * tensors["x"]):
                return "wrong output: y != 2 * x"
            return None

        return request

    return make


def write_builtin_model(repository: Path) -> None:
    """``soak_scale``: y = 2 * x, batching up to 8 with Triton's dynamic batcher."""
    import openvino as ov
    from google.protobuf import text_format
    from openvino import opset13 as ops
    from tritonclient.grpc import model_config_pb2 as mc

    x = ops.parameter([-1, _WIDTH], np.float32, name="x")
    y = ops.multiply(x, ops.constant(np.float32(2.0)))
    y.output(0).get_tensor().set_names({"y"})
    model_dir = repository / DEFAULT_MODEL
    (model_dir / "1").mkdir(parents=True)
    ov.save_model(ov.Model([y], [x], DEFAULT_MODEL), str(model_dir / "1" / "model.xml"))
    config = mc.ModelConfig(name=DEFAULT_MODEL, backend="openvino_py", max_batch_size=8)
    config.input.add(name="x", data_type=mc.TYPE_FP32, dims=[_WIDTH])
    config.output.add(name="y", data_type=mc.TYPE_FP32, dims=[_WIDTH])
    config.instance_group.add(kind=mc.ModelInstanceGroup.KIND_CPU, count=1)
    config.dynamic_batching.max_queue_delay_microseconds = 1000
    (model_dir / "config.pbtxt").write_text(text_format.MessageToString(config))
