"""Measure what large gRPC requests leave in memory (docs/notes/safety.md, deploy manifests).

    python -m tests.reliability.large_tensor_memory open 64 8      # 8 accepted 64 MiB requests
    python -m tests.reliability.large_tensor_memory limited 256 5  # 5 refused by MAX_INPUT_BYTES

Model ``y = 2x`` with dims [-1, -1] twice: ``open`` (no limit) and ``limited``
(MAX_INPUT_BYTES 64 MiB). After each request (one at a time) it prints tritonserver's RSS, the
model's stub's RSS and the size of the stub's /dev/shm region (whose pages count in both RSS
figures and once in the pod's memory). ``--no-malloc-tuning``: without the allocator settings
``TritonServer`` (``ovtriton serve``) gives tritonserver, as the image's entrypoint runs it.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import psutil
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from ovtriton.server.process import Ports, TritonServer
from tests.models import scale_model
from tests.repository import add_model

MiB = 1 << 20


def footprint(server: TritonServer, model: str) -> str:
    main = psutil.Process(server.pid)
    (stub,) = [
        p
        for p in main.children(recursive=True)
        if p.name() == "triton_python_backend_stub" and f"/{model}/" in " ".join(p.cmdline())
    ]
    regions = sorted(Path("/dev/shm").glob(f"{server.shm_prefix}*"))
    shm = max(r.stat().st_size for r in regions) // MiB  # the other stub's region stays 1 MiB
    tritonserver, stub_rss = main.memory_info().rss // MiB, stub.memory_info().rss // MiB
    return (
        f"tritonserver {tritonserver} MiB, stub {stub_rss} MiB, largest shm region {shm} MiB "
        f"(pod ~{tritonserver + stub_rss - shm} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=["open", "limited"])
    parser.add_argument("mib", type=int, help="request size in MiB")
    parser.add_argument("count", type=int, nargs="?", default=3)
    parser.add_argument(
        "--no-malloc-tuning",
        action="store_true",
        help="start tritonserver without MALLOC_TUNING (as the image's entrypoint does)",
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ovtriton-memory-"))
    add_model(root / "repo", "open", scale_model((-1, -1), factor=2.0))
    limit = {"MAX_INPUT_BYTES": str(64 * MiB)}
    add_model(root / "repo", "limited", scale_model((-1, -1), factor=2.0), parameters=limit)
    x = np.ones((args.mib * MiB // 4 // 1024, 1024), np.float32)
    tuning = not args.no_malloc_tuning
    with TritonServer(
        root / "repo", ports=Ports.free(), workdir=root / "work", malloc_tuning=tuning
    ) as server:
        client = grpcclient.InferenceServerClient(f"127.0.0.1:{server.ports.grpc}")
        print(f"idle: {footprint(server, args.model)}", flush=True)
        tensor = grpcclient.InferInput("INPUT/x:0", list(x.shape), "FP32")
        tensor.set_data_from_numpy(x)
        for i in range(args.count):
            try:
                client.infer(args.model, [tensor], client_timeout=600)
                outcome = "accepted"
            except InferenceServerException as exc:
                outcome = f"refused ({exc.status()})"
            print(
                f"{args.model} {args.mib} MiB #{i + 1} {outcome}: {footprint(server, args.model)}"
            )


if __name__ == "__main__":
    main()
