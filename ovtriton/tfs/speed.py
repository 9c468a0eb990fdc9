"""Speed of the TFS front against Triton's own gRPC, on one model, measured in the same run.

    python -m ovtriton.tfs.speed --tfs 127.0.0.1:9000 --triton 127.0.0.1:8001 \\
        --model image_classification_pipeline --input image --shape 1,3,224,224

Three paths, interleaved round by round so load drifts hit them alike: TFS Predict on the
front's port, KServe through the front's port (passed through), and KServe on Triton's port.
Reports p50/p90 at concurrency 1 and throughput at concurrency N, with the ratios the issue
asks for (TFS p50 ≤ 1.15 × Triton's, TFS throughput ≥ 0.90 × Triton's).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from typing import Callable, Optional, Sequence

import numpy as np
import tritonclient.grpc as grpcclient

from ovtriton.tfs.client import TfsClient

Call = Callable[[], object]


def tfs_call(url: str, model: str, name: str, data: np.ndarray) -> Call:
    client = TfsClient(url, timeout=60)
    return lambda: client.predict(model, {name: data})


def kserve_call(url: str, model: str, name: str, data: np.ndarray) -> Call:
    client = grpcclient.InferenceServerClient(url)
    tensor = grpcclient.InferInput(name, list(data.shape), "FP32")
    tensor.set_data_from_numpy(data)
    return lambda: client.infer(model, [tensor], client_timeout=60)


def latencies(call: Call, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def throughput(make: Callable[[], Call], workers: int, seconds: float) -> float:
    """Requests per second with ``workers`` threads, each with its own client."""
    calls = [make() for _ in range(workers)]
    done = [0] * workers
    stop = time.perf_counter() + seconds

    def work(index: int) -> None:
        while time.perf_counter() < stop:
            calls[index]()
            done[index] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - start)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tfs", required=True, help="host:port of the front (OVMS --port)")
    parser.add_argument("--triton", required=True, help="host:port of Triton's own gRPC")
    parser.add_argument("--model", required=True)
    parser.add_argument("--input", required=True, help="input name")
    parser.add_argument("--shape", required=True, help="input shape, e.g. 1,3,224,224 (FP32)")
    parser.add_argument("--requests", type=int, default=200, help="per path at concurrency 1")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0, help="per path and round")
    args = parser.parse_args(argv)
    data = np.random.default_rng(0).uniform(0, 255, [int(s) for s in args.shape.split(",")])
    data = data.astype(np.float32)
    makers = {
        "TFS front": lambda: tfs_call(args.tfs, args.model, args.input, data),
        "KServe via front": lambda: kserve_call(args.tfs, args.model, args.input, data),
        "Triton gRPC": lambda: kserve_call(args.triton, args.model, args.input, data),
    }
    calls = {path: make() for path, make in makers.items()}
    for call in calls.values():
        latencies(call, 10)  # warm-up
    times: dict[str, list[float]] = {path: [] for path in makers}
    rates: dict[str, list[float]] = {path: [] for path in makers}
    for _ in range(args.rounds):
        for path, call in calls.items():
            times[path] += latencies(call, args.requests // args.rounds)
        for path, make in makers.items():
            rates[path].append(throughput(make, args.concurrency, args.seconds))
    p50 = {path: statistics.median(t) for path, t in times.items()}
    rate = {path: statistics.mean(r) for path, r in rates.items()}
    for path in makers:
        p90 = statistics.quantiles(times[path], n=10)[-1]
        print(
            f"{path:<18} p50 {p50[path]:7.2f} ms  p90 {p90:7.2f} ms  "
            f"c={args.concurrency}: {rate[path]:7.1f} req/s"
        )
    base = "Triton gRPC"
    for path in ("TFS front", "KServe via front"):
        print(
            f"{path}: p50 {p50[path] / p50[base]:.3f} x Triton's (goal <= 1.15), "
            f"throughput {rate[path] / rate[base]:.3f} x (goal >= 0.90)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
