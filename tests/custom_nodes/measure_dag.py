"""Latency of the ``dag_cases`` pipelines served by a real tritonserver (figures of dag.md).

.venv/bin/python -m tests.custom_nodes.measure_dag [--requests 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from ovtriton.converter import convert
from ovtriton.server.process import Ports, TritonServer
from tests.custom_nodes.dag_cases import SLEEP_MS, SLOW_TILES, write_dag_config
from tests.integration.clients import Client


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    cases = {
        "crop_classify": {"image": rng.random((4, 12), np.float32)},
        "nested": {"image": rng.random((4, 16), np.float32)},
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = convert(write_dag_config(root / "ovms"), root / "repo").out_dir
        with TritonServer(repo, ports=Ports.free(), log_path=root / "log") as server:
            for protocol in ("grpc", "http"):
                client = Client(server, protocol, timeout=60)
                image = np.ones((2, 4 * SLOW_TILES), np.float32)
                slow = [_timed(client, "slow", {"image": image}) for _ in range(5)]
                print(
                    f"{protocol} slow ({SLOW_TILES} sub-requests x {SLEEP_MS} ms): request ms "
                    f"{[round(t) for t in slow]}"
                )
                for name, request in cases.items():
                    times = [_timed(client, name, request) for _ in range(args.requests)]
                    print(f"{protocol} {name}: p50 {statistics.median(times):.2f} ms")
    return 0


def _timed(client: Client, name: str, request: dict[str, np.ndarray]) -> float:
    started = time.perf_counter()
    client.infer(name, request)
    return (time.perf_counter() - started) * 1e3


if __name__ == "__main__":
    raise SystemExit(main())
