"""The backend's fixed cost: a zero-compute openvino_py model against a zero-compute NumPy model.

Both take the same 600 KB image (FP32 [1,3,224,224]) and answer its first pixel ([1,3,1,1]),
so what differs is the backend's own work per request. One tritonserver serves both (and a
zero-compute pipeline model); sequential gRPC requests in interleaved rounds, so drift hits
every model alike. Prints per model the median of the rounds' p50s with their spread.

    python -m ovtriton.bench.fixed_cost --rounds 7 --requests 300
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import tempfile
import textwrap
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Mapping, Optional, Sequence

import numpy as np
import openvino as ov
import tritonclient.grpc as grpcclient
from google.protobuf import json_format, text_format
from openvino import opset13 as ops
from tritonclient.grpc import model_config_pb2 as mc

from ovtriton.server.process import MALLOC_TUNING, Ports, TritonServer

LOGGER = logging.getLogger(__name__)

SHAPE = [1, 3, 224, 224]
NUMPY_MODEL = """\
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            image = pb_utils.get_input_tensor_by_name(request, "image").as_numpy()
            out = pb_utils.Tensor("pixel", image[:, :, :1, :1].copy())
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses
"""
MODELS = ("zero_numpy", "zero_openvino", "zero_pipeline")
BASELINE = "zero_baseline"  # zero_openvino served by another copy of the backend (--baseline)


def _config(name: str, backend: str, parameters: Optional[dict[str, str]] = None) -> mc.ModelConfig:
    config = mc.ModelConfig(name=name, backend=backend, max_batch_size=0)
    config.input.add(name="image", data_type=mc.TYPE_FP32, dims=SHAPE)
    config.output.add(name="pixel", data_type=mc.TYPE_FP32, dims=[1, 3, 1, 1])
    config.instance_group.add(kind=mc.ModelInstanceGroup.KIND_CPU, count=1)
    for key, value in (parameters or {}).items():
        config.parameters[key].string_value = value
    return config


def _write(folder: Path, config: mc.ModelConfig) -> None:
    (folder / "config.pbtxt").write_text(
        text_format.MessageToString(config) + "max_batch_size: 0\n"
    )


def build_repository(repo: Path, baseline: bool = False) -> None:
    """zero_numpy (backend python), zero_openvino and zero_pipeline (one node: zero_openvino)."""
    image = ops.parameter(SHAPE, np.float32, name="image")
    stop = np.array([1, 3, 1, 1], np.int64)
    pixel = ops.slice(image, np.zeros(4, np.int64), stop, np.ones(4, np.int64))
    pixel.output(0).get_tensor().set_names({"pixel"})
    (repo / "zero_openvino" / "1").mkdir(parents=True)
    ov.save_model(ov.Model([pixel], [image]), str(repo / "zero_openvino" / "1" / "model.xml"))
    node_config = _config("zero_openvino", "openvino_py")
    _write(repo / "zero_openvino", node_config)
    if baseline:
        (repo / BASELINE / "1").mkdir(parents=True)
        (repo / BASELINE / "1" / "model.xml").write_bytes(
            (repo / "zero_openvino" / "1" / "model.xml").read_bytes()
        )
        (repo / BASELINE / "1" / "model.bin").write_bytes(
            (repo / "zero_openvino" / "1" / "model.bin").read_bytes()
        )
        _write(repo / BASELINE, _config(BASELINE, "openvino_py_baseline"))
    (repo / "zero_numpy" / "1").mkdir(parents=True)
    (repo / "zero_numpy" / "1" / "model.py").write_text(textwrap.dedent(NUMPY_MODEL))
    _write(repo / "zero_numpy", _config("zero_numpy", "python"))
    (repo / "zero_pipeline" / "1").mkdir(parents=True)
    dag = {
        "format": 1,
        "inputs": ["image"],
        "nodes": [
            {
                "name": "slice",
                "kind": "model",
                "model": "zero_openvino",
                "version": 1,
                "inputs": {"image": ["request", "image"]},
                "outputs": {"pixel": "pixel"},
            }
        ],
        "outputs": {"pixel": ["slice", "pixel"]},
        "models": {
            "zero_openvino": json_format.MessageToDict(
                node_config, preserving_proto_field_name=True
            )
        },
    }
    (repo / "zero_pipeline" / "1" / "pipeline.json").write_text(json.dumps(dag))
    _write(
        repo / "zero_pipeline",
        _config("zero_pipeline", "openvino_py", {"PIPELINE": "pipeline.json"}),
    )


def measure(
    targets: Mapping[str, tuple[str, str]], rounds: int, requests: int
) -> dict[str, list[float]]:
    """Per target (label -> gRPC url, model), the p50 (ms) of each round; requests alternate
    between the targets one by one (the order reversed every round), so load from elsewhere
    hits them alike."""
    clients = {url: grpcclient.InferenceServerClient(url) for url, _ in targets.values()}
    image = np.random.default_rng(0).random(SHAPE, dtype=np.float32)
    item = grpcclient.InferInput("image", SHAPE, "FP32")
    item.set_data_from_numpy(image)
    calls = {label: (clients[url], model) for label, (url, model) in targets.items()}
    p50s: dict[str, list[float]] = {label: [] for label in targets}
    for client, model in calls.values():  # warm-up, and every target answers the same pixel
        for _ in range(20):
            result = client.infer(model, [item]).as_numpy("pixel")
        np.testing.assert_array_equal(result, image[:, :, :1, :1])
    for round_ in range(rounds):
        order = list(calls) if round_ % 2 == 0 else list(calls)[::-1]
        latencies: dict[str, list[float]] = {label: [] for label in targets}
        for _ in range(requests):
            for label in order:
                client, model = calls[label]
                start = time.perf_counter()
                client.infer(model, [item])
                latencies[label].append((time.perf_counter() - start) * 1e3)
        for label in targets:
            p50s[label].append(float(np.median(latencies[label])))
    for client in clients.values():
        client.close()
    return p50s


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=300, help="per model and round")
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="a folder with another version of backend/*.py, served as model zero_baseline "
        "(e.g. git archive of an older commit), to compare before/after in one run",
    )
    parser.add_argument(
        "--allocator",
        action="store_true",
        help="serve everything twice: glibc's default malloc and "
        + " ".join(f"{k}={v}" for k, v in MALLOC_TUNING.items()),
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory(prefix="ovtriton-fixed-cost-") as tmp, ExitStack() as stack:
        repo = Path(tmp) / "repo"
        build_repository(repo, baseline=args.baseline is not None)
        models = list(MODELS)
        if args.baseline is not None:
            models.insert(1, BASELINE)
        settings = {"": True}
        if args.allocator:
            settings = {"glibc default ": False, "tuned malloc  ": True}
        targets: dict[str, tuple[str, str]] = {}
        for label, tuned in settings.items():
            workdir = Path(tmp) / f"work{len(targets)}"
            if args.baseline is not None:
                target = workdir / "backends" / "openvino_py_baseline"
                target.mkdir(parents=True)
                for source in args.baseline.glob("*.py"):
                    shutil.copy2(source, target / source.name)
            server = TritonServer(
                repo,
                ports=Ports.free(),
                log_path=workdir / "log",
                workdir=workdir,
                malloc_tuning=tuned,
            )
            stack.enter_context(server)
            states = {m.name: (m.state, m.reason) for m in server.models()}
            if any(state != "READY" for state, _ in states.values()):
                print(states)
                return 3
            targets.update({f"{label}{model}": (server.grpc_url, model) for model in models})
        p50s = measure(targets, args.rounds, args.requests)
    base = statistics.median(p50s[next(iter(p50s))])
    for name, values in p50s.items():
        median = statistics.median(values)
        print(
            f"{name:22s} p50 {median:6.3f} ms (rounds {min(values):.3f}-{max(values):.3f}) "
            f"{median - base:+.3f} ms vs the first"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
