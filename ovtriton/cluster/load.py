"""Steady client load through the balancer: HTTP and gRPC clients, every answer checked.

Each client sends one request at a time, paced (``interval``), until told to stop or until
``max_seconds``; a request fails when it raises or when its answer is not ``factor * x`` for one
of the factors the repository may serve right now (both during a rolling change).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

LOGGER = logging.getLogger(__name__)

MODEL = "scale"  # the cluster's model: y = factor * x, x of shape [1, 4]
INPUT, OUTPUT = "INPUT/x:0", "out.y"


@dataclass
class Outcome:
    at: float  # time.monotonic() when the answer (or the error) came
    protocol: str
    ok: bool
    factor: Optional[float] = None
    error: str = ""
    seconds: float = 0.0  # latency seen by the client


@dataclass
class Load:
    http_url: str
    grpc_url: str
    factors: set[float]  # answers accepted now (the caller widens it during a change)
    clients_per_protocol: int = 2
    interval: float = 0.02
    max_seconds: float = 600.0
    outcomes: list[Outcome] = field(default_factory=list)
    resent: int = 0  # HTTP requests sent again after a closed idle keep-alive connection
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "Load":
        for protocol in ("http", "grpc"):
            for n in range(self.clients_per_protocol):
                thread = threading.Thread(
                    target=self._run, args=(protocol,), name=f"load-{protocol}-{n}", daemon=True
                )
                thread.start()
                self._threads.append(thread)
        return self

    def stop(self) -> "Load":
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
        return self

    def _client(self, protocol: str) -> Callable[[np.ndarray], np.ndarray]:
        if protocol == "http":
            import tritonclient.http as module

            client = module.InferenceServerClient(
                self.http_url, connection_timeout=30, network_timeout=30
            )
        else:
            import tritonclient.grpc as module  # type: ignore[no-redef]

            client = module.InferenceServerClient(self.grpc_url)

        def infer(x: np.ndarray) -> np.ndarray:
            tensor = module.InferInput(INPUT, list(x.shape), "FP32")
            tensor.set_data_from_numpy(x)
            kwargs = {"client_timeout": 30} if protocol == "grpc" else {}
            try:
                return client.infer(MODEL, [tensor], **kwargs).as_numpy(OUTPUT)
            except Exception as exc:
                if protocol != "http" or "connection closed" not in str(exc):
                    raise
                # An idle keep-alive connection the balancer closed as the request went out
                # (nginx's reload retires its old workers): sent again once, as urllib3 does
                # with a stale pooled connection; counted in the report.
                with self._lock:
                    self.resent += 1
                return client.infer(MODEL, [tensor], **kwargs).as_numpy(OUTPUT)

        return infer

    def _run(self, protocol: str) -> None:
        infer = self._client(protocol)
        deadline = time.monotonic() + self.max_seconds
        rng = np.random.default_rng()
        while not self._stop.is_set() and time.monotonic() < deadline:
            x = rng.uniform(-4, 4, (1, 4)).astype(np.float32)
            sent = time.monotonic()
            try:
                y = infer(x)
                factor = next((f for f in self.factors if np.allclose(y, x * f)), None)
                outcome = Outcome(
                    time.monotonic(),
                    protocol,
                    factor is not None,
                    factor,
                    "" if factor is not None else f"wrong answer {y.tolist()}",
                )
            except Exception as exc:  # every failure is counted, none stops the load
                outcome = Outcome(time.monotonic(), protocol, False, error=str(exc)[:200])
            outcome.seconds = outcome.at - sent
            with self._lock:
                self.outcomes.append(outcome)
            self._stop.wait(self.interval)

    def since(self, start: float) -> list[Outcome]:
        with self._lock:
            return [o for o in self.outcomes if o.at >= start]

    def summary(self, start: float = 0.0) -> dict:
        outcomes = self.since(start)
        failed = [o for o in outcomes if not o.ok]
        return {
            "requests": len(outcomes),
            "failed": len(failed),
            "failed_by_protocol": dict(Counter(o.protocol for o in failed)),
            "resent_after_closed_connection": self.resent,
            "answers_by_factor": {
                str(k): v for k, v in Counter(o.factor for o in outcomes if o.ok).items()
            },
            "errors": sorted({o.error for o in failed})[:5],
            "max_latency_s": round(max((o.seconds for o in outcomes), default=0.0), 3),
        }
