"""One OVMS pipeline three ways: in-process, as a Triton ensemble, as a pipeline model.

The pipeline is converted twice into one repository (``<name>`` as the ensemble, with thread
budgets, and ``<name>_fused`` as the pipeline model) and served by one tritonserver; the
in-process mode runs the pipeline model's own scheduler in this process (same DAG, same thread
budget, no server). Rounds of sequential requests (concurrency 1) rotate through the modes, so
drift hits each alike; per mode: the median of the rounds' p50s, their spread, and CPU
milliseconds per inference (this process for in-process; tritonserver and its stubs, plus
this process, for the served modes). Every mode must return the same outputs.

    python -m ovtriton.bench.pipeline_compare                       # two small conv branches
    python -m ovtriton.bench.pipeline_compare --config C --pipeline P   # any OVMS pipeline
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import openvino as ov
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from google.protobuf import json_format, text_format
from openvino import opset13 as ops
from tritonclient.grpc import model_config_pb2
from tritonclient.utils import np_to_triton_dtype, triton_to_np_dtype

from ovtriton.backend.pipeline_load import load_pipeline
from ovtriton.bench.load import group_cpu_s
from ovtriton.converter import convert
from ovtriton.server.process import MALLOC_TUNING, Ports, TritonServer

Tensors = dict[str, np.ndarray]


def small_workload(root: Path) -> tuple[Path, str]:
    """Two small conv classifiers on a 600 KB image, joined by an argmax (OVMS config)."""
    rng = np.random.default_rng(0)
    for name in ("conv_a", "conv_b", "argmax"):
        (root / name / "1").mkdir(parents=True)
    for name in ("conv_a", "conv_b"):
        image = ops.parameter([1, 3, 224, 224], np.float32, name="image")
        weights = rng.standard_normal((16, 3, 3, 3)).astype(np.float32)
        conv = ops.relu(ops.convolution(image, weights, [2, 2], [1, 1], [1, 1], [1, 1]))
        pooled = ops.reduce_mean(conv, np.array([2, 3], np.int64), keep_dims=False)
        logits = ops.matmul(pooled, rng.standard_normal((16, 10)).astype(np.float32), False, False)
        logits.output(0).get_tensor().set_names({"logits"})
        ov.save_model(ov.Model([logits], [image]), str(root / name / "1" / "model.xml"))
    a = ops.parameter([1, 10], np.float32, name="a")
    b = ops.parameter([1, 10], np.float32, name="b")
    best = ops.topk(ops.add(a, b), np.int64(1), 1, "max", "value", "i64").output(1)
    best.get_tensor().set_names({"best"})
    ov.save_model(ov.Model([best], [a, b]), str(root / "argmax" / "1" / "model.xml"))

    def node(name: str, model: str, inputs: dict, output: str) -> dict:
        sources = [{key: {"node_name": n, "data_item": d}} for key, (n, d) in inputs.items()]
        return {
            "name": name,
            "model_name": model,
            "type": "DL model",
            "inputs": sources,
            "outputs": [{"data_item": output, "alias": output}],
        }

    pipeline = {
        "name": "small",
        "inputs": ["image"],
        "nodes": [
            node("a", "conv_a", {"image": ("request", "image")}, "logits"),
            node("b", "conv_b", {"image": ("request", "image")}, "logits"),
            node("join", "argmax", {"a": ("a", "logits"), "b": ("b", "logits")}, "best"),
        ],
        "outputs": [{"best": {"node_name": "join", "data_item": "best"}}],
    }
    models = [{"config": {"name": n, "base_path": n}} for n in ("conv_a", "conv_b", "argmax")]
    path = root / "config.json"
    config = {"model_config_list": models, "pipeline_config_list": [pipeline]}
    path.write_text(json.dumps(config))
    return path, "small"


def fused_twin(config_path: Path, pipeline: str, out: Path) -> Path:
    """A copy of the config (absolute base paths) with the pipeline also as ``<name>_fused``."""
    config = json.loads(config_path.read_text())
    for entry in config["model_config_list"]:
        base = Path(entry["config"]["base_path"])
        entry["config"]["base_path"] = str(
            base if base.is_absolute() else config_path.resolve().parent / base
        )
    found = [p for p in config["pipeline_config_list"] if p["name"] == pipeline]
    if not found:
        raise SystemExit(f"no pipeline {pipeline!r} in {config_path}")
    config["pipeline_config_list"] = [found[0], {**found[0], "name": f"{pipeline}_fused"}]
    out.write_text(json.dumps(config))
    return out


def triton_config(model_dir: Path) -> dict[str, Any]:
    text = (model_dir / "config.pbtxt").read_text()
    config = text_format.Parse(text, model_config_pb2.ModelConfig())
    return json.loads(json_format.MessageToJson(config, preserving_proto_field_name=True))


def sample_inputs(config: Mapping[str, Any]) -> Tensors:
    rng = np.random.default_rng(1)
    inputs = {}
    for tensor in config["input"]:
        shape = [max(1, int(d)) for d in tensor["dims"]]
        dtype = triton_to_np_dtype(tensor["data_type"].removeprefix("TYPE_"))
        inputs[tensor["name"]] = (rng.random(shape) * 2 - 1).astype(dtype)
    return inputs


def remote(module: Any, url: str, model: str) -> Callable[[Tensors], Tensors]:
    own = threading.local()  # one client per thread

    def call(inputs: Tensors) -> Tensors:
        if not hasattr(own, "client"):
            own.client = module.InferenceServerClient(url)
        client = own.client
        items = []
        for name, array in inputs.items():
            item = module.InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
            item.set_data_from_numpy(array)
            items.append(item)
        result = client.infer(model, items)
        response = result.get_response()
        names = (
            [o["name"] for o in response["outputs"]]
            if isinstance(response, dict)
            else [o.name for o in response.outputs]
        )
        return {name: result.as_numpy(name) for name in names}

    return call


def run(args: argparse.Namespace, tmp: Path) -> dict[str, dict[str, float]]:
    config_path, pipeline = (
        (args.config, args.pipeline) if args.config else small_workload(tmp / "ovms")
    )
    twin = fused_twin(config_path, pipeline, tmp / "config.json")
    cores = len(os.sched_getaffinity(0))
    repo = convert(twin, tmp / "repo", fuse=frozenset({f"{pipeline}_fused"}), cores=cores).out_dir
    fused_config = triton_config(repo / f"{pipeline}_fused")
    inputs = sample_inputs(fused_config)
    inprocess = load_pipeline(repo / f"{pipeline}_fused", "1", fused_config)

    def local(tensors: Tensors) -> Tensors:
        [result] = inprocess.run([tensors])
        if isinstance(result, Exception):
            raise result
        return result

    def local_together(tensors: Tensors) -> Tensors:
        """``concurrency`` requests in flight together in the scheduler (it is not reentrant)."""
        for result in inprocess.run([tensors] * args.concurrency):
            if isinstance(result, Exception):
                raise result
        return result

    servers = {"": True}
    if args.allocator:
        servers[" glibc-default"] = False
    with ExitStack() as stack:
        modes: dict[str, tuple[Callable[[Tensors], Tensors], Optional[int]]] = {
            "in-process": (local, None)
        }
        for suffix, tuned in servers.items():
            log = tmp / f"tritonserver{len(modes)}.log"
            server = stack.enter_context(
                TritonServer(repo, ports=Ports.free(), log_path=log, malloc_tuning=tuned)
            )
            for label, model in (("ensemble", pipeline), ("pipeline model", f"{pipeline}_fused")):
                modes[f"{label} gRPC{suffix}"] = (
                    remote(grpcclient, server.grpc_url, model),
                    server.pid,
                )
                modes[f"{label} HTTP{suffix}"] = (
                    remote(httpclient, server.http_url, model),
                    server.pid,
                )
        reference = local(inputs)
        for label, (call, _) in modes.items():
            for _ in range(10):
                got = call(inputs)
            for name, value in reference.items():
                np.testing.assert_array_equal(got[name], value, err_msg=f"{label}: {name}")
        if args.concurrency > 1:
            modes["in-process"] = (local_together, None)
        p50s: dict[str, list[float]] = {label: [] for label in modes}
        cpu: dict[str, float] = {label: 0.0 for label in modes}
        wall: dict[str, float] = {label: 0.0 for label in modes}
        pool = stack.enter_context(ThreadPoolExecutor(args.concurrency))
        for round_ in range(args.rounds):
            order = list(modes) if round_ % 2 == 0 else list(modes)[::-1]
            for label in order:
                call, pgid = modes[label]
                threads = 1 if pgid is None else args.concurrency
                before = sum(os.times()[:2]) + (group_cpu_s(pgid) if pgid else 0.0)
                start = time.perf_counter()
                parts = pool.map(
                    lambda _: _timed(call, inputs, args.requests // args.concurrency),
                    range(threads),
                )
                latencies = [ms for part in parts for ms in part]
                wall[label] += time.perf_counter() - start
                cpu[label] += sum(os.times()[:2]) + (group_cpu_s(pgid) if pgid else 0.0) - before
                p50s[label].append(float(np.median(latencies)))
    total = args.rounds * (args.requests // args.concurrency) * args.concurrency
    return {
        label: {
            "p50_ms": statistics.median(values),
            "p50_min_ms": min(values),
            "p50_max_ms": max(values),
            "cpu_ms_per_inference": cpu[label] / total * 1e3,
            "inferences_per_s": total / wall[label],
        }
        for label, values in p50s.items()
    }


def _timed(call: Callable[[Tensors], Tensors], inputs: Tensors, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        start = time.perf_counter()
        call(inputs)
        latencies.append((time.perf_counter() - start) * 1e3)
    return latencies


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, help="an OVMS config.json (default: generated)")
    parser.add_argument("--pipeline", help="the pipeline of --config to run")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=100, help="per mode and round")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="requests in flight (client threads; in-process: that many requests per run)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--allocator",
        action="store_true",
        help="also serve without ovtriton's "
        + " ".join(f"{k}={v}" for k, v in MALLOC_TUNING.items()),
    )
    args = parser.parse_args(argv)
    if bool(args.config) != bool(args.pipeline):
        parser.error("--config and --pipeline go together")
    with tempfile.TemporaryDirectory(prefix="ovtriton-pipeline-compare-") as tmp:
        figures = run(args, Path(tmp))
    base = figures["in-process"]["p50_ms"]
    for label, f in figures.items():
        print(
            f"{label:28s} p50 {f['p50_ms']:7.3f} ms ({f['p50_min_ms']:.3f}-{f['p50_max_ms']:.3f})"
            f"  {f['p50_ms'] / base:5.2f} x in-process   CPU {f['cpu_ms_per_inference']:6.2f} ms/inf"
            f"  {f['inferences_per_s']:7.1f} inf/s"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
